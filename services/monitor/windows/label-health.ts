import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { RuntimeModel } from '../runtime-models.ts'

export interface LabelHealthRow {
  model_id: string
  window_size_ms: number
  window_start: number
  labels_received: number
  labels_joined: number
  labels_orphaned: number
}

/**
 * Join health by label time: labels received, joined to their prediction, and orphaned (no
 * prediction `orphan_after` after the label arrived). Derived from the stored tables, so any
 * instance can run it at any time; orphans are recorded in orphan_labels and marked resolved
 * when their prediction turns up after all.
 */
export class LabelHealth {
  constructor(
    private readonly ch: ClickHouse,
    private readonly now: () => number = Date.now,
  ) {}

  async update(model: RuntimeModel, lookbackMs = 7 * 86_400_000): Promise<LabelHealthRow[]> {
    const modelId = model.config.model_id
    const size = Math.min(...model.config.windows)
    const now = this.now()
    const cutoff = now - model.config.orphan_after
    const newest = await this.ch.query<{ t: number }>(`SELECT max(label_time) AS t FROM ${this.ch.table('labels')} WHERE model_id = ${lit(modelId)}`)
    const since = Math.floor(((newest[0]?.t ?? 0) - lookbackMs) / size) * size
    const labels = await this.ch.query<{ prediction_id: string; label_time: number; first_seen: number; found: number }>(
      `SELECT prediction_id, latest_label_time AS label_time, first_seen, found FROM (
         SELECT prediction_id, max(label_time) AS latest_label_time, min(ingested_at) AS first_seen
         FROM ${this.ch.table('labels')} WHERE model_id = ${lit(modelId)} AND label_time >= ${since} GROUP BY prediction_id
       ) ANY LEFT JOIN (
         SELECT DISTINCT prediction_id, toUInt8(1) AS found FROM ${this.ch.table('predictions')} WHERE model_id = ${lit(modelId)}
       ) USING prediction_id`,
    )
    const byWindow = new Map<number, LabelHealthRow>()
    const orphans: { prediction_id: string; label_time: number; first_seen: number }[] = []
    const joinedIds = new Set<string>()
    for (const l of labels) {
      const start = Math.floor(l.label_time / size) * size
      const row = byWindow.get(start) ?? { model_id: modelId, window_size_ms: size, window_start: start, labels_received: 0, labels_joined: 0, labels_orphaned: 0 }
      row.labels_received++
      if (l.found) {
        row.labels_joined++
        joinedIds.add(l.prediction_id)
      } else if (l.first_seen < cutoff) {
        row.labels_orphaned++
        orphans.push(l)
      }
      byWindow.set(start, row)
    }
    const open = await this.ch.query<{ prediction_id: string; label_time: number; first_seen: number }>(
      `SELECT prediction_id, label_time, first_seen FROM ${this.ch.table('orphan_labels')} FINAL WHERE model_id = ${lit(modelId)} AND resolved = 0`,
    )
    const resolved = open.filter((o) => joinedIds.has(o.prediction_id))
    const known = new Set(open.map((o) => o.prediction_id))
    await this.ch.insert('orphan_labels', [
      ...orphans.filter((o) => !known.has(o.prediction_id)).map((o) => ({ model_id: modelId, prediction_id: o.prediction_id, label_time: o.label_time, first_seen: o.first_seen, resolved: 0, version: now })),
      ...resolved.map((o) => ({ model_id: modelId, prediction_id: o.prediction_id, label_time: o.label_time, first_seen: o.first_seen, resolved: 1, version: now })),
    ])
    const rows = [...byWindow.values()].sort((a, b) => a.window_start - b.window_start)
    // Orphan counts depend on the clock, so the latest computation is the truth.
    await this.ch.insert('label_health', rows.map((r) => ({ ...r, data_version: now })))
    return rows
  }
}
