import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { RuntimeModel } from '../core/runtime-model.ts'
import { labelsFrom } from './window-sql.ts'

export interface LabelHealthRow {
  model_id: string
  window_size_ms: number
  window_start: number
  labels_received: number
  labels_joined: number
  labels_orphaned: number
  /** Not joined yet and first seen less than join_grace ago: not judged yet. */
  labels_pending: number
}

/**
 * Join health by label time: labels received, joined to their prediction, pending (not joined
 * but first seen less than `join_grace` ago, so not judged yet) and orphaned (no prediction
 * `orphan_after` after the label arrived). Derived from the stored tables, so any
 * instance can run it at any time; orphans are recorded in orphan_labels and marked resolved
 * when their prediction turns up after all. Everything is counted and written inside ClickHouse:
 * what comes back is a row per window, whatever the number of labels (a broken feed can orphan
 * millions), and predictions are read only for the ids of the labels being checked.
 */
export class LabelHealth {
  constructor(
    private readonly ch: ClickHouse,
    private readonly now: () => number = Date.now,
  ) {}

  /** The model's newest label time (0: none). Looked for among the labels since `recentFrom`
   *  first: the labels are kept for good and sorted by id, so reading every label time of the
   *  model grew with its history. Labels replayed from the past are found by the whole read. */
  private async newestLabelTime(modelId: string, recentFrom: number): Promise<number> {
    const newest = async (condition: string): Promise<number> => {
      const [row] = await this.ch.query<{ t: number }>(
        `SELECT max(label_time) AS t FROM ${this.ch.table('labels')} WHERE model_id = ${lit(modelId)}${condition}`,
      )
      return Number(row?.t ?? 0)
    }
    return (await newest(labelsFrom(recentFrom))) || newest('')
  }

  /** Counts again; returns the rows and the window starts whose counts differ from the stored ones
   *  (a window evaluated with the old counts has to be judged again). */
  async update(model: RuntimeModel, lookbackMs = 7 * 86_400_000): Promise<{ rows: LabelHealthRow[]; changed: number[] }> {
    const { ch } = this
    const modelId = lit(model.config.model_id)
    const size = Math.min(...model.config.windows)
    const now = this.now()
    const cutoff = now - model.config.orphan_after
    const graceCutoff = now - model.config.join_grace
    const since = Math.floor(((await this.newestLabelTime(model.config.model_id, now - lookbackMs)) - lookbackMs) / size) * size
    const recent = `model_id = ${modelId}${labelsFrom(since)}`
    // Each labeled prediction once, at its latest label time, and whether its prediction is stored:
    // a set of the stored ones among the labels' ids (bounded by the labels, like the read), not a
    // join (half the CPU: 1,000,000 labels, 2.0 s against 4.2). The keys are picked by their ids'
    // hashes, the labels' stored ones (a fifth of the CPU of testing the strings); `found` tests
    // the ids themselves.
    const labelHashes = `SELECT prediction_hash FROM ${ch.table('labels')} WHERE ${recent}`
    const checked = `SELECT prediction_id, max(label_time) AS latest_label_time, min(ingested_at) AS first_seen,
         prediction_id IN (SELECT prediction_id FROM ${ch.table('prediction_keys')} PREWHERE cityHash64(prediction_id) IN (${labelHashes}) WHERE model_id = ${modelId}) AS found
       FROM ${ch.table('labels')} WHERE ${recent} GROUP BY prediction_id`
    const rows = await ch.query<LabelHealthRow>(
      `SELECT ${modelId} AS model_id, toUInt64(${size}) AS window_size_ms, intDiv(latest_label_time, ${size}) * ${size} AS window_start,
              count() AS labels_received, countIf(found = 1) AS labels_joined, countIf(found = 0 AND first_seen < ${cutoff}) AS labels_orphaned,
              countIf(found = 0 AND first_seen >= ${graceCutoff}) AS labels_pending
       FROM (${checked})
       GROUP BY window_start ORDER BY window_start`,
    )
    // An orphan's latest state (argMax, not FINAL: a filter on `resolved` may run before FINAL
    // collapses the versions).
    const openOrphans = `SELECT prediction_id FROM ${ch.table('orphan_labels')} WHERE model_id = ${modelId} GROUP BY prediction_id HAVING argMax(resolved, version) = 0`
    // (Reads the labels again: only when the counts above found orphans.)
    if (rows.some((r) => r.labels_orphaned > 0)) {
      await ch.command(
        `INSERT INTO ${ch.table('orphan_labels')} (model_id, prediction_id, label_time, first_seen, resolved, version)
         SELECT ${modelId}, prediction_id, latest_label_time, first_seen, 0, ${now} FROM (${checked})
         WHERE found = 0 AND first_seen < ${cutoff} AND prediction_id NOT IN (${openOrphans})`,
      )
    }
    // Open orphans whose prediction is stored now, however old they are.
    await ch.command(
      `INSERT INTO ${ch.table('orphan_labels')} (model_id, prediction_id, label_time, first_seen, resolved, version)
       SELECT model_id, prediction_id, argMax(label_time, version), argMax(first_seen, version), 1, ${now}
       FROM ${ch.table('orphan_labels')}
       WHERE model_id = ${modelId} AND prediction_id IN (${openOrphans})
         AND prediction_id IN (SELECT prediction_id FROM ${ch.table('prediction_keys')} WHERE model_id = ${modelId} AND prediction_id IN (${openOrphans}))
       GROUP BY model_id, prediction_id`,
    )
    const before = await ch.query<LabelHealthRow>(
      `SELECT window_start, labels_received, labels_joined, labels_orphaned, labels_pending FROM ${ch.table('label_health')} FINAL
       WHERE model_id = ${modelId} AND window_size_ms = ${size} AND window_start >= ${since}`,
    )
    const counts = (r: LabelHealthRow): string => [r.labels_received, r.labels_joined, r.labels_orphaned, r.labels_pending].map(Number).join('/')
    const stored = new Map(before.map((r) => [Number(r.window_start), counts(r)]))
    const changed = rows.filter((r) => stored.get(Number(r.window_start)) !== counts(r)).map((r) => Number(r.window_start))
    // Orphan counts depend on the clock, so the latest computation is the truth.
    await ch.insert(
      'label_health',
      rows.map((r) => ({ ...r, data_version: now })),
    )
    return { rows, changed }
  }
}
