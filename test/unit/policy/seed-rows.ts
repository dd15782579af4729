import { historyRow } from '../../../services/monitor/store/window-store.ts'
import { alertEventRow as monitorAlertEventRow, alertRow as monitorAlertRow } from '../../../services/shared/records/alert-record.ts'
import type { MonitorTrigger } from '../../../services/shared/events/types.ts'
import type { WindowFacts } from '../../../services/policy/core/decision-context.ts'

// Rows of the monitor's tables (window_summary and its history, alerts and alert_events, label_health) built from the plain
// scenario data of fixtures.ts, for the integration tests that seed ClickHouse as the monitor
// would have.

export function windowSummaryRow(w: WindowFacts, modelId: string, version = 'v1'): Record<string, unknown> {
  return {
    model_id: modelId,
    model_version: version,
    segment: w.segment,
    window_size_ms: w.window_end - w.window_start,
    window_start: w.window_start,
    window_end: w.window_end,
    window_start_time: Math.floor(w.window_start / 1000),
    volume: w.volume,
    late_count: 0,
    duplicate_count: 0,
    labeled_count: w.labeled_count,
    label_coverage: w.label_coverage,
    label_delay_p50_ms: w.label_delay_p50_ms,
    label_delay_p90_ms: w.label_delay_p90_ms,
    label_delay_p99_ms: null,
    accuracy: w.metrics.accuracy ?? null,
    precision: null,
    recall: null,
    f1: null,
    log_loss: null,
    roc_auc: null,
    calibration_error: w.metrics.calibration_error ?? null,
    classes: ['0', '1'],
    confusion: [],
    mae: null,
    rmse: null,
    mape: null,
    bias: null,
    estimated_accuracy: w.estimated_accuracy,
    business_value: w.business_value,
    closed: 1,
    data_version: 1,
    computed_at: 1,
  }
}

/** The monitor's own `alerts` row for a trigger. */
export function alertRow(t: MonitorTrigger, version = 1): Record<string, unknown> {
  return monitorAlertRow(t, version)
}

/** The row window_summary_history holds for a summary row (known from the start: as of 0). */
export function windowHistoryRow(summary: Record<string, unknown>): Record<string, unknown> {
  return historyRow({ ...summary, as_of: 0 })
}

/** The alert_events row the monitor writes when it publishes a trigger. */
export function alertEventRow(t: MonitorTrigger): Record<string, unknown> {
  return monitorAlertEventRow(t, 1)
}

/** Labels joined per window by label time: `perHour` for `hours` windows before `until`. */
export function labelHealthRows(modelId: string, until: number, hours: number, perHour: number, size = 3_600_000): Record<string, unknown>[] {
  return Array.from({ length: hours }, (_, i) => ({
    model_id: modelId,
    window_size_ms: size,
    window_start: until - (hours - i) * size,
    labels_received: perHour,
    labels_joined: perHour,
    labels_orphaned: 0,
    data_version: 1,
  }))
}
