import { ident, lit } from '../../shared/clickhouse/sql.ts'
import type { WindowKey } from '../../shared/records/window-metrics.ts'
import type { EvidenceQueries } from '../core/detectors/finding.ts'

// The ClickHouse queries a finding carries as evidence, for an analyst to run as they are. The
// server has no query parameters, so every value is written as an escaped literal (lit). The
// metric tables are ReplacingMergeTree, read with FINAL so that a recomputed window is seen once,
// with its newest numbers.

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
function featureStatsQuery(key: WindowKey, features: string[], columns: string[], windowsBack: number, database: string): string {
  const featureFilter = features.length ? ` AND feature IN (${features.map((f) => lit(f)).join(', ')})` : ''
  return (
    `SELECT window_start, feature, ${columns.map(ident).join(', ')} FROM ${ident(database)}.window_feature_stats FINAL` +
    ` WHERE ${keyFilter(key, true)} AND ${windowRange(key, windowsBack)}${featureFilter}` +
    ` ORDER BY feature, window_start`
  )
}

/** Null rate and value counts of the given features. */
function nullRateQuery(key: WindowKey, features: string[], windowsBack: number, database: string): string {
  const featureFilter = features.length ? ` AND feature IN (${features.map((f) => lit(f)).join(', ')})` : ''
  return (
    `SELECT window_start, feature, count, nulls, if(count + nulls = 0, 0, nulls / (count + nulls)) AS null_rate` +
    ` FROM ${ident(database)}.window_feature_stats FINAL` +
    ` WHERE ${keyFilter(key, true)} AND ${windowRange(key, windowsBack)}${featureFilter}` +
    ` ORDER BY feature, window_start`
  )
}

/** Window summary columns over the window and the ones before it (all versions when acrossVersions). */
function summaryQuery(key: WindowKey, columns: string[], windowsBack: number, acrossVersions: boolean, database: string): string {
  return (
    `SELECT window_start, model_version, ${columns.map(ident).join(', ')} FROM ${ident(database)}.window_summary FINAL` +
    ` WHERE ${keyFilter(key, !acrossVersions)} AND ${windowRange(key, windowsBack)}` +
    ` ORDER BY window_start, model_version`
  )
}

/** Label join counters of a model over the window and the ones before it. */
function labelHealthQuery(modelId: string, windowSizeMs: number, windowStart: number, windowsBack: number, database: string): string {
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

/** The evidence queries of findings, on `database` (the monitor's CLICKHOUSE_DATABASE). */
export function evidenceQueries(database: string): EvidenceQueries {
  return {
    featureStats: (key, features, columns, windowsBack) => featureStatsQuery(key, features, columns, windowsBack, database),
    nullRate: (key, features, windowsBack) => nullRateQuery(key, features, windowsBack, database),
    summary: (key, columns, windowsBack, acrossVersions = false) => summaryQuery(key, columns, windowsBack, acrossVersions, database),
    labelHealth: (modelId, windowSizeMs, windowStart, windowsBack) => labelHealthQuery(modelId, windowSizeMs, windowStart, windowsBack, database),
  }
}

/** The query that finds an alert by id, in the driftgate database (`driftgate sql` runs it there):
 *  sent where only ids may go. */
export const alertLookupQuery = (alertId: string): string => `SELECT * FROM alerts FINAL WHERE alert_id = ${lit(alertId)}`
