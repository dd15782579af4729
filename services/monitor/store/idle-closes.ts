import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'

/** Records windows closed by processing time (infra/clickhouse/0180_idle_closes.sql). */
export async function recordIdleCloses(ch: ClickHouse, modelId: string, sizeMs: number, starts: number[], closedAt: number): Promise<void> {
  await ch.insert(
    'window_idle_closes',
    starts.map((window_start) => ({ model_id: modelId, window_size_ms: sizeMs, window_start, closed_at: closedAt })),
  )
}

/** When each of these windows was closed by processing time, if it was (the first record counts). */
export async function idleCloses(ch: ClickHouse, modelId: string, sizeMs: number, starts: number[]): Promise<Map<number, number>> {
  if (starts.length === 0) return new Map()
  const rows = await ch.query<{ window_start: number; closed_at: number }>(
    `SELECT window_start, min(closed_at) AS closed_at FROM ${ch.table('window_idle_closes')}
     WHERE model_id = ${lit(modelId)} AND window_size_ms = ${Number(sizeMs)} AND window_start IN (${starts.map(Number).join(', ')})
     GROUP BY window_start`,
  )
  return new Map(rows.map((r) => [Number(r.window_start), Number(r.closed_at)]))
}

/** The latest window of a model of one size that has a stored summary, with the model version it
 *  last saw (null: none yet). */
export async function lastWindow(ch: ClickHouse, modelId: string, sizeMs: number): Promise<{ start: number; version: string } | null> {
  const [row] = await ch.query<{ start: number; version: string; n: number }>(
    `SELECT max(window_start) AS start, argMax(model_version, window_start) AS version, count() AS n FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = ${lit(modelId)} AND window_size_ms = ${Number(sizeMs)} AND segment = 'all'`,
  )
  return row && Number(row.n) > 0 ? { start: Number(row.start), version: row.version } : null
}
