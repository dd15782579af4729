import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { FeatureWindowStats, WindowSummary } from '../../shared/model/window-metrics.ts'
import type { PredictionRow } from '../ingest/event-rows.ts'
import type { RuntimeModel } from '../runtime-models.ts'
import { aggregateWindow, type WindowRow } from './window-aggregate.ts'

export interface ComputedWindows {
  summaries: WindowSummary[]
  features: FeatureWindowStats[]
  /** Per window start: the newest ingested_at among the rows its numbers come from. A
   *  computation that saw more data has a higher version and wins under FINAL, whatever order
   *  concurrent writers finish in. */
  versions: Map<number, string>
  /** Window starts found closed (even those without rows of their own). */
  closedStarts: number[]
  /** Window starts that would be closed but for a partition not read far enough yet. */
  blockedStarts: number[]
}

/** The columns of a predictions row the computation reads. */
type PredictionRecord = Omit<PredictionRow, 'model_id' | 'event_date'>

interface LabelRecord {
  prediction_id: string
  label_class: string | null
  label_value: number | null
  label_time: number
  kafka_timestamp: number
  kafka_partition: number
  kafka_offset: number
  ingested_at: number
}

const zip = <V>(names: string[], values: V[]): Record<string, V> => Object.fromEntries(names.map((n, i) => [n, values[i] as V]))

/** Merges sorted window starts into contiguous [from, to) ranges of event time. */
function ranges(starts: number[], size: number): [number, number][] {
  const out: [number, number][] = []
  for (const start of starts) {
    const last = out[out.length - 1]
    if (last && last[1] === start) last[1] = start + size
    else out.push([start, start + size])
  }
  return out
}

/** First arrival per prediction_id (by Kafka timestamp, then partition and offset); counts the rest. */
function firstArrivals(records: PredictionRecord[]): Map<string, { record: PredictionRecord; duplicates: number }> {
  const byId = new Map<string, { record: PredictionRecord; duplicates: number }>()
  for (const r of records) {
    const seen = byId.get(r.prediction_id)
    if (!seen) byId.set(r.prediction_id, { record: r, duplicates: 0 })
    else {
      seen.duplicates++
      const a = r
      const b = seen.record
      if (a.kafka_timestamp < b.kafka_timestamp || (a.kafka_timestamp === b.kafka_timestamp && (a.kafka_partition < b.kafka_partition || (a.kafka_partition === b.kafka_partition && a.kafka_offset < b.kafka_offset)))) {
        seen.record = r
      }
    }
  }
  return byId
}

/** Latest label per prediction_id: by label_time, then by arrival (a correction wins). */
function latestLabels(records: LabelRecord[]): Map<string, LabelRecord> {
  const byId = new Map<string, LabelRecord>()
  for (const r of records) {
    const seen = byId.get(r.prediction_id)
    if (
      !seen ||
      r.label_time > seen.label_time ||
      (r.label_time === seen.label_time && (r.kafka_timestamp > seen.kafka_timestamp || (r.kafka_timestamp === seen.kafka_timestamp && r.kafka_offset > seen.kafka_offset)))
    ) {
      byId.set(r.prediction_id, r)
    }
  }
  return byId
}

/**
 * Reads windows' raw events from ClickHouse (deduplicated), computes their metrics and writes
 * them: one query for predictions, one for their labels, one for the windows' close times, and
 * one insert per metrics table, for any number of windows of one model and size.
 */
export class WindowStore {
  constructor(private readonly ch: ClickHouse) {}

  /** `lowWatermark`: record time up to which every predictions partition has been read; a window
   *  whose close time lies beyond it stays open (a lagging partition may still hold its rows). */
  async recompute(model: RuntimeModel, sizeMs: number, starts: number[], lowWatermark = Infinity): Promise<ComputedWindows> {
    const modelId = model.config.model_id
    const sorted = [...new Set(starts)].sort((a, b) => a - b)
    const spans = ranges(sorted, sizeMs)
    const inRanges = spans.map(([from, to]) => `(event_time >= ${from} AND event_time < ${to})`).join(' OR ')
    const where = `model_id = ${lit(modelId)} AND (${inRanges})`
    const lateness = model.config.allowed_lateness
    const horizon = model.config.label_horizon

    const [predictions, labels, closes] = await Promise.all([
      this.ch.query<PredictionRecord>(
        `SELECT prediction_id, model_version, event_time, numeric_names, numeric_values, categorical_names, categorical_values,
                predicted_class, score, class_names, class_scores, predicted_value, segment_names, segment_values,
                kafka_partition, kafka_offset, kafka_timestamp, ingested_at
         FROM ${this.ch.table('predictions')} FINAL WHERE ${where}`,
      ),
      this.ch.query<LabelRecord>(
        `SELECT prediction_id, label_class, label_value, label_time, kafka_timestamp, kafka_partition, kafka_offset, ingested_at
         FROM ${this.ch.table('labels')} FINAL
         WHERE model_id = ${lit(modelId)} AND prediction_id IN (SELECT prediction_id FROM ${this.ch.table('predictions')} WHERE ${where})`,
      ),
      // A window closes at the arrival (Kafka timestamp) of the first prediction stamped at least
      // allowed_lateness after its end (looking one window ahead). Derived from stored data
      // only, so a replay or a second instance finds the same close time.
      this.ch.query<Record<string, number>>(
        `SELECT ${sorted
          .map((s, i) => {
            const from = s + sizeMs + lateness
            const range = `event_time >= ${from} AND event_time < ${from + sizeMs}`
            return `countIf(${range}) AS n${i}, minIf(kafka_timestamp, ${range}) AS t${i}, maxIf(ingested_at, ${range}) AS v${i}`
          })
          .join(', ')}
         FROM ${this.ch.table('predictions')}
         WHERE model_id = ${lit(modelId)} AND event_time >= ${sorted[0]! + sizeMs + lateness} AND event_time < ${sorted[sorted.length - 1]! + 2 * sizeMs + lateness}`,
      ),
    ])

    const labelById = latestLabels(labels)
    const labelVersion = new Map<string, number>()
    for (const l of labels) labelVersion.set(l.prediction_id, Math.max(labelVersion.get(l.prediction_id) ?? 0, l.ingested_at))
    // A window's version: the newest ingested_at among the rows it was computed from, then the
    // number of those rows. Two computations that read the same newest row but not the same
    // rows (an insert became visible in between) still differ, and the one that saw more wins.
    const versions = new Map<number, { newest: number; rows: number }>(sorted.map((s) => [s, { newest: 0, rows: 0 }]))
    const bump = (start: number, newest: number, rows: number): void => {
      const v = versions.get(start)
      if (!v) return
      v.newest = Math.max(v.newest, newest)
      v.rows += rows
    }
    const labelCount = new Map<string, number>()
    for (const l of labels) labelCount.set(l.prediction_id, (labelCount.get(l.prediction_id) ?? 0) + 1)
    for (const p of predictions) bump(Math.floor(p.event_time / sizeMs) * sizeMs, Math.max(p.ingested_at, labelVersion.get(p.prediction_id) ?? 0), 1 + (labelCount.get(p.prediction_id) ?? 0))
    const rowsByWindow = new Map<number, WindowRow[]>(sorted.map((s) => [s, []]))
    for (const { record: p, duplicates } of firstArrivals(predictions).values()) {
      const label = labelById.get(p.prediction_id)
      const inHorizon = label !== undefined && label.label_time - p.event_time <= horizon
      rowsByWindow.get(Math.floor(p.event_time / sizeMs) * sizeMs)?.push({
        prediction_id: p.prediction_id,
        model_version: p.model_version,
        event_time: p.event_time,
        numeric: zip(p.numeric_names, p.numeric_values),
        categorical: zip(p.categorical_names, p.categorical_values),
        predicted_class: p.predicted_class,
        score: p.score,
        class_scores: zip(p.class_names, p.class_scores),
        predicted_value: p.predicted_value,
        segments: zip(p.segment_names, p.segment_values),
        kafka_timestamp: p.kafka_timestamp,
        duplicates,
        label: inHorizon ? { label_class: label.label_class, label_value: label.label_value, label_time: label.label_time } : null,
      })
    }

    const closeRow = closes[0] ?? {}
    const summaries: WindowSummary[] = []
    const features: FeatureWindowStats[] = []
    const closedStarts: number[] = []
    const blockedStarts: number[] = []
    sorted.forEach((start, i) => {
      let closeTs = Number(closeRow[`n${i}`] ?? 0) > 0 ? Number(closeRow[`t${i}`]) : null
      if (closeTs !== null && closeTs > lowWatermark) {
        blockedStarts.push(start)
        closeTs = null
      }
      if (closeTs !== null) {
        closedStarts.push(start)
        // The rows that closed the window are part of what this computation saw.
        bump(start, Number(closeRow[`v${i}`]), Number(closeRow[`n${i}`]))
      }
      const result = aggregateWindow(model, sizeMs, start, rowsByWindow.get(start)!, closeTs)
      summaries.push(...result.summaries)
      features.push(...result.features)
    })
    const versionStrings = new Map([...versions].map(([start, v]) => [start, (BigInt(v.newest) * 1_000_000n + BigInt(Math.min(v.rows, 999_999))).toString()]))
    await this.write(summaries, features, versionStrings)
    return { summaries, features, versions: versionStrings, closedStarts, blockedStarts }
  }

  private async write(summaries: WindowSummary[], features: FeatureWindowStats[], versions: Map<number, string>): Promise<void> {
    const computedAt = Date.now()
    await this.ch.insert(
      'window_summary',
      summaries.map((s) => ({
        ...s.key,
        window_end: s.key.window_start + s.key.window_size_ms,
        window_start_time: Math.floor(s.key.window_start / 1000),
        volume: s.volume,
        late_count: s.late_count,
        duplicate_count: s.duplicate_count,
        labeled_count: s.labeled_count,
        label_coverage: s.label_coverage,
        label_delay_p50_ms: s.label_delay_p50_ms,
        label_delay_p90_ms: s.label_delay_p90_ms,
        label_delay_p99_ms: s.label_delay_p99_ms,
        accuracy: s.classification?.accuracy ?? null,
        precision: s.classification?.precision ?? null,
        recall: s.classification?.recall ?? null,
        f1: s.classification?.f1 ?? null,
        log_loss: s.classification?.log_loss ?? null,
        roc_auc: s.classification?.roc_auc ?? null,
        calibration_error: s.classification?.calibration_error ?? null,
        classes: s.classification?.classes ?? [],
        confusion: s.classification?.confusion ?? [],
        mae: s.regression?.mae ?? null,
        rmse: s.regression?.rmse ?? null,
        mape: s.regression?.mape ?? null,
        bias: s.regression?.bias ?? null,
        estimated_accuracy: s.estimated_accuracy,
        business_value: s.business_value,
        closed: s.closed ? 1 : 0,
        data_version: versions.get(s.key.window_start) ?? '0',
        computed_at: computedAt,
      })),
    )
    await this.ch.insert(
      'window_feature_stats',
      features.map((f) => ({
        ...f.key,
        feature: f.feature,
        kind: f.numeric ? 'numeric' : 'categorical',
        count: f.numeric?.count ?? f.categorical?.count ?? 0,
        nulls: f.numeric?.nulls ?? f.categorical?.nulls ?? 0,
        min: f.numeric?.min ?? null,
        max: f.numeric?.max ?? null,
        mean: f.numeric?.mean ?? null,
        std: f.numeric?.std ?? null,
        bin_edges: f.numeric?.bin_edges ?? [],
        histogram: f.numeric?.histogram ?? [],
        categories: f.categorical?.categories ?? [],
        category_counts: f.categorical?.counts ?? [],
        unseen: f.categorical?.unseen ?? 0,
        data_version: versions.get(f.key.window_start) ?? '0',
        computed_at: computedAt,
      })),
    )
  }
}
