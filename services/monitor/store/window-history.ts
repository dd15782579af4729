import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import { ALL_SEGMENTS } from '../../shared/records/window-metrics.ts'
import type { JoinHealth, WindowSnapshot } from '../core/detectors/finding.ts'
import { featureFromRecord, summaryFromRecord, type FeatureRecord, type SummaryRecord } from '../core/windows/window-rows.ts'

const DAY = 86_400_000

export interface SeriesHistory {
  /** Snapshots by 'version|segment|start'. Features of windows before the one ahead of `from`
   *  carry counts, nulls and moments only (empty bins, histogram and categories). */
  snapshots: Map<string, WindowSnapshot>
  /** First window start of each model version (for training-serving skew checks). */
  versionStarts: Map<string, number>
  /** Join counters by window start (smallest window size only). */
  joinHealth: Map<number, JoinHealth>
  /** The data_version of each window start's latest computation, and of each snapshot (one
   *  older than its window's is left from an earlier computation: a segment that overflowed since). */
  dataVersions: Map<number, string>
  snapshotVersions: Map<string, string>
}

/** What the series baselines read of a feature's statistics (anomaly.detector.ts). */
const MOMENT_COLUMNS = [
  'model_id',
  'model_version',
  'segment',
  'window_size_ms',
  'window_start',
  'feature',
  'kind',
  'count',
  'nulls',
  'min',
  'max',
  'mean',
  'std',
  'unseen',
  'overflow_values',
  'overflow_count',
] as const
type FeatureMoments = Pick<FeatureRecord, (typeof MOMENT_COLUMNS)[number]>

/** The shape columns of a row read without them: empty, frozen, one set for every row (a copy
 *  of each row took more memory than the rows themselves). */
const NO_SHAPE: Pick<FeatureRecord, 'bin_edges' | 'histogram' | 'categories' | 'category_counts'> = Object.freeze({
  bin_edges: Object.freeze([]) as unknown as number[],
  histogram: Object.freeze([]) as unknown as number[],
  categories: Object.freeze([]) as unknown as string[],
  category_counts: Object.freeze([]) as unknown as number[],
})
const withoutShape = (r: FeatureMoments): FeatureRecord => Object.assign(r, NO_SHAPE)

export const snapshotKey = (version: string, segment: string, start: number): string => `${version}|${segment}|${start}`

/**
 * What the detectors compare a window with, for one model and window size: summaries over the
 * last four weeks (seasonal baselines), feature statistics over the last four days and join
 * counters. Feature statistics are read in full from the window before `from` on (drift against
 * the previous window); earlier ones without bins, histograms and categories, which no series
 * baseline reads (null rates, prediction means) and which were most of the bytes read.
 */
export async function loadSeriesHistory(ch: ClickHouse, modelId: string, sizeMs: number, from: number, to: number, joinSizeMs: number): Promise<SeriesHistory> {
  const where = `model_id = ${lit(modelId)} AND window_size_ms = ${sizeMs}`
  const [summaries, features, olderFeatures, versions, labels] = await Promise.all([
    // data_version as text: it exceeds 2^53 (ms × 10^6 + rows), and a rounded one written with a
    // window's evaluation would lose to the evaluation it replaces.
    ch.query<SummaryRecord & { version: string }>(
      `SELECT *, toString(data_version) AS version FROM ${ch.table('window_summary')} FINAL WHERE ${where} AND window_start >= ${from - 28 * DAY} AND window_start <= ${to}`,
    ),
    ch.query<FeatureRecord>(
      `SELECT * FROM ${ch.table('window_feature_stats')} FINAL WHERE ${where} AND window_start >= ${from - sizeMs} AND window_start <= ${to}`,
    ),
    ch.query<FeatureMoments>(
      `SELECT ${MOMENT_COLUMNS.join(', ')} FROM ${ch.table('window_feature_stats')} FINAL
       WHERE ${where} AND window_start >= ${from - 4 * DAY} AND window_start < ${from - sizeMs}`,
    ),
    ch.query<{ model_version: string; first_start: number }>(
      `SELECT model_version, min(window_start) AS first_start FROM ${ch.table('window_summary')} WHERE ${where} GROUP BY model_version`,
    ),
    sizeMs === joinSizeMs
      ? ch.query<{ window_start: number; labels_received: number; labels_joined: number; labels_orphaned: number; labels_pending: number }>(
          `SELECT window_start, labels_received, labels_joined, labels_orphaned, labels_pending FROM ${ch.table('label_health')} FINAL
           WHERE model_id = ${lit(modelId)} AND window_size_ms = ${sizeMs} AND window_start >= ${from - 28 * DAY} AND window_start <= ${to}`,
        )
      : Promise.resolve([]),
  ])
  const snapshots = new Map<string, WindowSnapshot>()
  const dataVersions = new Map<number, string>()
  const snapshotVersions = new Map<string, string>()
  for (const r of summaries) {
    snapshotVersions.set(snapshotKey(r.model_version, r.segment, r.window_start), r.version)
    const seen = dataVersions.get(r.window_start)
    if (seen === undefined || BigInt(r.version) > BigInt(seen)) dataVersions.set(r.window_start, r.version)
  }
  for (const r of summaries) snapshots.set(snapshotKey(r.model_version, r.segment, r.window_start), { summary: summaryFromRecord(r), features: [] })
  for (const r of olderFeatures) snapshots.get(snapshotKey(r.model_version, r.segment, r.window_start))?.features.push(featureFromRecord(withoutShape(r)))
  for (const r of features) snapshots.get(snapshotKey(r.model_version, r.segment, r.window_start))?.features.push(featureFromRecord(r))
  // Join counters per window: duplicates and volume from the windows themselves (derived from
  // stored rows, so every run agrees), label arrivals and orphans from label_health (a periodic,
  // clock-dependent job: orphans are labels still unmatched `orphan_after` after arrival).
  const joinHealth = new Map<number, JoinHealth>()
  const noJoins = (windowStart: number): JoinHealth => ({
    model_id: modelId,
    window_size_ms: sizeMs,
    window_start: windowStart,
    labels_received: 0,
    labels_joined: 0,
    labels_pending: 0,
    orphan_labels: 0,
    duplicate_predictions: 0,
    predictions: 0,
  })
  if (sizeMs === joinSizeMs) {
    for (const s of summaries) {
      if (s.segment !== ALL_SEGMENTS) continue
      const j = joinHealth.get(s.window_start) ?? noJoins(s.window_start)
      j.predictions += s.volume
      j.duplicate_predictions += s.duplicate_count
      joinHealth.set(s.window_start, j)
    }
    for (const l of labels) {
      const j = joinHealth.get(l.window_start) ?? noJoins(l.window_start)
      j.labels_received = l.labels_received
      j.labels_joined = l.labels_joined
      j.orphan_labels = l.labels_orphaned
      j.labels_pending = l.labels_pending
      joinHealth.set(l.window_start, j)
    }
  }
  return { snapshots, versionStarts: new Map(versions.map((v) => [v.model_version, v.first_start])), joinHealth, dataVersions, snapshotVersions }
}

/** Earlier windows of the same segment (any version), oldest first. */
export function historyBefore(history: SeriesHistory, segment: string, start: number): WindowSnapshot[] {
  return [...history.snapshots.values()]
    .filter((s) => s.summary.key.segment === segment && s.summary.key.window_start < start)
    .sort((a, b) => a.summary.key.window_start - b.summary.key.window_start)
}
