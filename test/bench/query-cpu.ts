import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'

// Where ClickHouse's CPU goes during a pipeline run, from its query log: the monitor children
// ask for their queries to be logged (withQueryLog), the bench's own reads are not. Kinds are
// told apart by what the monitor's SQL names; what no kind names is counted as other queries.
// Merges happen outside queries: their time per table comes from the part log.

export interface QueryCpu {
  /** By kind, most CPU first: queries finished in the run and their CPU (user + system). */
  kinds: { kind: string; queries: number; cpu_s: number }[]
  queries_cpu_s: number
  /** Merges finished in the run, by table, most time first (part_log: wall time, not CPU); null
   *  without a part log. */
  merges: { table: string; merges: number; seconds: number; rows: number }[] | null
}

/** A log row's `event_time` (whole seconds) within the run. */
const during = (fromMs: number, toMs: number): string =>
  `event_time >= toDateTime(${Math.floor(fromMs / 1000)}) AND event_time <= toDateTime(${Math.ceil(toMs / 1000)})`

/** The monitor's URL with `log_queries` on for every query it sends (@clickhouse/client takes
 *  `ch_<setting>` URL parameters as ClickHouse settings). */
export function withQueryLog(url: string): string {
  const u = new URL(url)
  u.searchParams.set('ch_log_queries', '1')
  return u.toString()
}

/** The first pattern the query's text contains names its kind ({db}: the run's database). */
const KINDS: [string, string][] = [
  ['INSERT INTO {db}.predictions ', 'inserting predictions'],
  ['INSERT INTO {db}.labels ', 'inserting labels'],
  ['INSERT INTO ', 'inserting other rows (windows, progress)'],
  ['AS delay_p50', 'window summaries'],
  ['AS mean_value', 'feature statistics'],
  ['AS found_model_id', 'label lookups'],
  ['AS labels_orphaned', 'join health'],
  ['AS replayed', 'window inputs'],
  ['AS closing', 'window closes'],
  ['FROM {db}.window_', 'reading stored windows'],
]

/**
 * CPU of the queries on `database` that finished between the two times, by kind; null when the
 * server keeps no query log. Summaries are told apart by window size (intDiv(event_time, size)).
 */
export async function queryCpu(ch: ClickHouse, database: string, fromMs: number, toMs: number): Promise<QueryCpu | null> {
  const kinds = KINDS.map(([pattern, kind]) => `position(query, ${lit(pattern.replace('{db}', database))}) > 0, ${lit(kind)}`).join(', ')
  const cpu = (events: (name: string) => string): string => `${events('UserTimeMicroseconds')} + ${events('SystemTimeMicroseconds')}`
  // ProfileEvents: two arrays up to ClickHouse 21, a map since; `type` a number, then an enum (2: finished).
  const attempts = [cpu((e) => `ProfileEvents.Values[indexOf(ProfileEvents.Names, '${e}')]`), cpu((e) => `ProfileEvents['${e}']`)]
  try {
    await ch.command('SYSTEM FLUSH LOGS')
  } catch {
    return null
  }
  for (const us of attempts) {
    try {
      const rows = await ch.query<{ kind: string; size: string; queries: number; cpu_s: number }>(
        `SELECT multiIf(${kinds}, 'other queries') AS kind, extract(query, 'intDiv\\\\(event_time, ([0-9]+)\\\\)') AS size,
                count() AS queries, sum(${us}) / 1e6 AS cpu_s
         FROM system.query_log
         WHERE toUInt8(type) = 2 AND ${during(fromMs, toMs)}
           AND position(query, ${lit(`${database}.`)}) > 0
         GROUP BY kind, size`,
      )
      const byKind = new Map<string, { queries: number; cpu_s: number }>()
      for (const r of rows) {
        const kind = r.kind === 'window summaries' && r.size ? `window summaries ${Number(r.size) / 3_600_000}h` : r.kind
        const k = byKind.get(kind) ?? { queries: 0, cpu_s: 0 }
        k.queries += Number(r.queries)
        k.cpu_s += Number(r.cpu_s)
        byKind.set(kind, k)
      }
      const list = [...byKind].map(([kind, k]) => ({ kind, queries: k.queries, cpu_s: Math.round(k.cpu_s * 100) / 100 })).sort((a, b) => b.cpu_s - a.cpu_s)
      return {
        kinds: list,
        queries_cpu_s: Math.round(list.reduce((s, k) => s + k.cpu_s, 0) * 100) / 100,
        merges: await mergesOf(ch, database, fromMs, toMs),
      }
    } catch {
      // the other ProfileEvents form, or no query log at all
    }
  }
  return null
}

/** Merges of the database's tables that finished between the two times (event_type 2: a number
 *  up to ClickHouse 19, an enum since); null when the server keeps no part log. */
async function mergesOf(ch: ClickHouse, database: string, fromMs: number, toMs: number): Promise<QueryCpu['merges']> {
  try {
    const rows = await ch.query<{ table: string; merges: number; seconds: number; rows: number }>(
      `SELECT table, count() AS merges, sum(duration_ms) / 1000 AS seconds, sum(rows) AS rows FROM system.part_log
       WHERE toInt8(event_type) = 2 AND database = ${lit(database)}
         AND ${during(fromMs, toMs)}
       GROUP BY table ORDER BY seconds DESC`,
    )
    return rows.map((r) => ({ table: r.table, merges: Number(r.merges), seconds: Math.round(Number(r.seconds) * 100) / 100, rows: Number(r.rows) }))
  } catch {
    return null
  }
}
