import { ident, lit } from '../../shared/clickhouse/sql.ts'
import type { WindowKey } from '../../shared/model/window-metrics.ts'

// The ClickHouse queries a finding carries as evidence. The server has no query parameters, so
// every value is written as an escaped literal (lit). Both metric tables are ReplacingMergeTree
// and are read with FINAL so that a recomputed window is seen once, with its newest numbers.

export const EVIDENCE_DATABASE = 'driftgate'

/** Window starts from `windowsBack` windows before the key's window up to it (clamped at 0). */
function windowRange(key: WindowKey, windowsBack: number): string {
  const from = Math.max(0, key.window_start - windowsBack * key.window_size_ms)
  return `window_start >= ${lit(from)} AND window_start <= ${lit(key.window_start)}`
}

function keyFilter(key: WindowKey, withVersion: boolean): string {
  return [
    `model_id = ${lit(key.model_id)}`,
    ...(withVersion ? [`model_version = ${lit(key.model_version)}`] : []),
    `segment = ${lit(key.segment)}`,
    `window_size_ms = ${lit(key.window_size_ms)}`,
  ].join(' AND ')
}

/** Per-feature statistics of the given features over the window and the ones before it. */
export function featureStatsQuery(key: WindowKey, features: string[], columns: string[], windowsBack: number, database = EVIDENCE_DATABASE): string {
  const featureFilter = features.length ? ` AND feature IN (${features.map((f) => lit(f)).join(', ')})` : ''
  return (
    `SELECT window_start, feature, ${columns.map(ident).join(', ')} FROM ${ident(database)}.window_feature_stats FINAL` +
    ` WHERE ${keyFilter(key, true)} AND ${windowRange(key, windowsBack)}${featureFilter}` +
    ` ORDER BY feature, window_start`
  )
}

/** Null rate and value counts of the given features. */
export function nullRateQuery(key: WindowKey, features: string[], windowsBack: number, database = EVIDENCE_DATABASE): string {
  const featureFilter = features.length ? ` AND feature IN (${features.map((f) => lit(f)).join(', ')})` : ''
  return (
    `SELECT window_start, feature, count, nulls, if(count + nulls = 0, 0, nulls / (count + nulls)) AS null_rate` +
    ` FROM ${ident(database)}.window_feature_stats FINAL` +
    ` WHERE ${keyFilter(key, true)} AND ${windowRange(key, windowsBack)}${featureFilter}` +
    ` ORDER BY feature, window_start`
  )
}

/** Window summary columns over the window and the ones before it (all versions when acrossVersions). */
export function summaryQuery(key: WindowKey, columns: string[], windowsBack: number, acrossVersions = false, database = EVIDENCE_DATABASE): string {
  return (
    `SELECT window_start, model_version, ${columns.map(ident).join(', ')} FROM ${ident(database)}.window_summary FINAL` +
    ` WHERE ${keyFilter(key, !acrossVersions)} AND ${windowRange(key, windowsBack)}` +
    ` ORDER BY window_start, model_version`
  )
}

/** Label join counters of a model over the window and the ones before it. */
export function labelHealthQuery(modelId: string, windowSizeMs: number, windowStart: number, windowsBack: number, database = EVIDENCE_DATABASE): string {
  const from = Math.max(0, windowStart - windowsBack * windowSizeMs)
  return (
    `SELECT window_start, labels_received, labels_joined, labels_pending, labels_orphaned,` +
    ` if(labels_received - labels_pending = 0, NULL, labels_joined / (labels_received - labels_pending)) AS join_rate` +
    ` FROM ${ident(database)}.label_health FINAL` +
    ` WHERE model_id = ${lit(modelId)} AND window_size_ms = ${lit(windowSizeMs)}` +
    ` AND window_start >= ${lit(from)} AND window_start <= ${lit(windowStart)}` +
    ` ORDER BY window_start`
  )
}
