import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { MonitorTrigger } from '../../shared/events/types.ts'
import { ALERT_VERSION_SQL } from '../../shared/records/alert-record.ts'
import type { ContextFacts, Deploy, Episode, WindowFacts } from '../core/decision-context.ts'
import type { PolicyConfig } from '../core/policy-config.ts'

// Reads the facts of one decision from the monitor's tables in four queries, as of a data time
// the monitor has finished: each window as it was computed as of that time (its latest row in
// window_summary_history at or before it) and each alert as it was published by then (its latest
// transition in alert_events), so a monitor that is further along by the time of reading does not
// change the answer. The SQL is kept
// as written (with its literals) in `queries`, so every number in a decision can be re-checked
// by an analyst by running the query cited next to it.

const METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'calibration_error', 'mae', 'rmse', 'mape'] as const

type WindowRow = Omit<WindowFacts, 'metrics'> & Record<(typeof METRICS)[number], number | null>

export interface ContextLoader {
  load(episode: Episode, policy: PolicyConfig, asOf: number): Promise<ContextFacts>
}

/** Per-window numbers over all model versions, as of `to`: counts summed, labeled metrics
 *  weighted by labeled predictions, the CBPE estimate and label delays by volume. The middle
 *  query renames the columns (r_*) because ClickHouse resolves an alias before a column of the
 *  same name. */
function windowsSql(ch: ClickHouse, modelId: string, size: number, from: number, to: number): string {
  const byVolume = ['label_delay_p50_ms', 'label_delay_p90_ms', 'estimated_accuracy']
  const mean = (m: string, weight: string): string =>
    `if(sumIf(${weight}, isNotNull(r_${m})) > 0, sumIf(r_${m} * ${weight}, isNotNull(r_${m})) / sumIf(${weight}, isNotNull(r_${m})), NULL) AS ${m}`
  return [
    'SELECT segment, window_start, max(r_window_end) AS window_end, sum(r_volume) AS volume, sum(r_labeled) AS labeled_count,',
    '  if(sum(r_volume) > 0, sum(r_labeled) / sum(r_volume), 0) AS label_coverage,',
    `  ${byVolume.map((m) => mean(m, 'r_volume')).join(',\n  ')},`,
    `  ${METRICS.map((m) => mean(m, 'r_labeled')).join(',\n  ')},`,
    '  if(countIf(isNotNull(r_business_value)) > 0, sumIf(r_business_value, isNotNull(r_business_value)), NULL) AS business_value',
    'FROM (',
    `  SELECT segment, window_start, window_end AS r_window_end, volume AS r_volume, labeled_count AS r_labeled, business_value AS r_business_value,`,
    `    ${[...byVolume, ...METRICS].map((m) => `${m} AS r_${m}`).join(', ')}`,
    '  FROM (',
    `    SELECT * FROM ${ch.table('window_summary_history')} FINAL`,
    `    WHERE model_id = ${lit(modelId)} AND window_size_ms = ${size} AND window_start >= ${from} AND window_start + ${size} <= ${to} AND as_of <= ${to}`,
    '    ORDER BY as_of DESC, data_version DESC LIMIT 1 BY model_version, segment, window_start',
    '  )',
    ')',
    'GROUP BY segment, window_start',
    'ORDER BY segment, window_start',
  ].join('\n')
}

export function createContextLoader(ch: ClickHouse, options: { labelRateLookbackMs?: number } = {}): ContextLoader {
  const rateLookback = options.labelRateLookbackMs ?? 86_400_000
  return {
    async load(episode, policy, asOf) {
      const modelId = episode.model_id
      const size = episode.trigger.window_size_ms
      const cp = episode.change_point
      const alertsFrom = cp - policy.root_cause.lookback
      const queries = {
        // Each alert's latest transition published as of the step (the order of the alerts
        // table's versions); those that started by then and reach into the lookback.
        concurrent_alerts: [
          `SELECT alert_id, argMax(trigger_json, ${ALERT_VERSION_SQL}) AS trigger_json`,
          `FROM ${ch.table('alert_events')} FINAL`,
          `WHERE model_id = ${lit(modelId)} AND data_time <= ${asOf}`,
          'GROUP BY alert_id',
        ].join('\n'),
        windows: windowsSql(ch, modelId, size, cp - policy.reference_period, asOf),
        deploys: [
          'SELECT model_version, min(window_start) AS first_seen',
          `FROM ${ch.table('window_summary')}`,
          `WHERE model_id = ${lit(modelId)} AND segment = 'all' AND window_start < ${asOf}`,
          'GROUP BY model_version ORDER BY first_seen',
        ].join('\n'),
        // Labels joined per hour by label time over the last day (join health, smallest window).
        label_rate: [
          'SELECT sum(labels_joined) AS labels, min(window_start) AS since,',
          `  if(count() > 0, sum(labels_joined) * 3600000 / greatest(${asOf} - min(window_start), any(window_size_ms)), NULL) AS per_hour`,
          `FROM ${ch.table('label_health')} FINAL`,
          `WHERE model_id = ${lit(modelId)} AND window_start >= ${asOf - rateLookback} AND window_start + window_size_ms <= ${asOf}`,
          `  AND window_size_ms = (SELECT min(window_size_ms) FROM ${ch.table('label_health')} WHERE model_id = ${lit(modelId)})`,
        ].join('\n'),
      }
      const [alerts, windows, deploys, rate] = await Promise.all([
        ch.query<{ alert_id: string; trigger_json: string }>(queries.concurrent_alerts),
        ch.query<WindowRow>(queries.windows),
        ch.query<{ model_version: string; first_seen: number }>(queries.deploys),
        ch.query<{ labels: number; per_hour: number | null }>(queries.label_rate),
      ])
      return {
        as_of: asOf,
        window_size_ms: size,
        concurrent_alerts: alerts
          .map((a) => JSON.parse(a.trigger_json) as MonitorTrigger)
          .filter((t) => t.first_seen + t.window_size_ms <= asOf && t.last_seen + t.window_size_ms >= alertsFrom)
          .sort((a, b) => a.first_seen - b.first_seen || (a.alert_id < b.alert_id ? -1 : a.alert_id > b.alert_id ? 1 : 0)),
        windows: windows.map(toWindowFacts),
        label_rate_per_hour: rate[0]?.per_hour ?? null,
        deploys: deploys.map((d): Deploy => ({ model_version: d.model_version, first_seen: Number(d.first_seen) })),
        queries,
      }
    },
  }
}

function toWindowFacts(row: WindowRow): WindowFacts {
  const metrics: Record<string, number | null> = {}
  for (const m of METRICS) metrics[m] = row[m] ?? null
  return {
    segment: row.segment,
    window_start: Number(row.window_start),
    window_end: Number(row.window_end),
    volume: Number(row.volume),
    labeled_count: Number(row.labeled_count),
    label_coverage: Number(row.label_coverage),
    label_delay_p50_ms: row.label_delay_p50_ms,
    label_delay_p90_ms: row.label_delay_p90_ms,
    metrics,
    estimated_accuracy: row.estimated_accuracy,
    business_value: row.business_value,
  }
}
