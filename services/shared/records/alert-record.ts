import type { AlertKind, AlertStatus, MonitorTrigger, Severity } from '../events/types.ts'

// The `alerts` table row (infra/clickhouse/0120_alerts.sql): written by the monitor for every
// alert transition, read back by the monitor (published state) and the policy (concurrent alerts).

/** An `alerts` row as ClickHouse returns it. */
export interface AlertRecord {
  alert_id: string
  model_id: string
  model_version: string
  segment: string
  kind: string
  subject: string
  severity: string
  status: string
  window_size_ms: number
  window_start: number
  window_end: number
  observed: number
  expected: number
  threshold: number
  evidence_names: string[]
  evidence_scores: number[]
  evidence_details: string[]
  label_coverage: number | null
  estimated: number
  first_seen: number
  last_seen: number
  summary: string
  evidence_query: string
}

/** The columns of an AlertRecord, for SELECTs. */
export const ALERT_COLUMNS: (keyof AlertRecord)[] = [
  'alert_id',
  'model_id',
  'model_version',
  'segment',
  'kind',
  'subject',
  'severity',
  'status',
  'window_size_ms',
  'window_start',
  'window_end',
  'observed',
  'expected',
  'threshold',
  'evidence_names',
  'evidence_scores',
  'evidence_details',
  'label_coverage',
  'estimated',
  'first_seen',
  'last_seen',
  'summary',
  'evidence_query',
]

/** Orders an alert's states: a later last_seen wins, and at the same last_seen resolved wins. */
export const alertVersion = (t: MonitorTrigger): string => (BigInt(t.last_seen) * 4n + (t.status === 'resolved' ? 2n : 1n)).toString()
/** alertVersion over the columns of `alerts` or `alert_events`. */
export const ALERT_VERSION_SQL = "last_seen * 4 + if(status = 'resolved', 2, 1)"

/** The alert_events row of a published transition. */
export function alertEventRow(t: MonitorTrigger, emittedAt: number): Record<string, unknown> {
  return {
    alert_id: t.alert_id,
    model_id: t.model_id,
    kind: t.kind,
    status: t.status,
    last_seen: t.last_seen,
    trigger_json: JSON.stringify(t),
    data_time: t.data_time,
    emitted_at: emittedAt,
  }
}

/** An `alerts` row for a trigger (the alert's state as of that transition). */
export function alertRow(t: MonitorTrigger, version: string | number): Record<string, unknown> {
  return {
    alert_id: t.alert_id,
    model_id: t.model_id,
    model_version: t.model_version,
    segment: t.segment,
    kind: t.kind,
    subject: t.subject,
    severity: t.severity,
    status: t.status,
    window_size_ms: t.window_size_ms,
    window_start: t.window_start,
    window_end: t.window_end,
    observed: t.observed,
    expected: t.expected,
    threshold: t.threshold,
    evidence_names: t.evidence.map((e) => e.name),
    evidence_scores: t.evidence.map((e) => e.score),
    evidence_details: t.evidence.map((e) => e.detail),
    label_coverage: t.label_coverage,
    estimated: t.estimated ? 1 : 0,
    first_seen: t.first_seen,
    last_seen: t.last_seen,
    summary: t.summary,
    evidence_query: t.evidence_query,
    version,
  }
}

/** The trigger an `alerts` row records (the inverse of alertRow). */
export function triggerFromRow(r: AlertRecord): MonitorTrigger {
  return {
    alert_id: r.alert_id,
    model_id: r.model_id,
    model_version: r.model_version,
    segment: r.segment,
    kind: r.kind as AlertKind,
    subject: r.subject,
    severity: r.severity as Severity,
    status: r.status as AlertStatus,
    window_size_ms: Number(r.window_size_ms),
    window_start: Number(r.window_start),
    window_end: Number(r.window_end),
    observed: r.observed,
    expected: r.expected,
    threshold: r.threshold,
    evidence: r.evidence_names.map((name, i) => ({ name, score: r.evidence_scores[i] ?? 0, detail: r.evidence_details[i] ?? '' })),
    label_coverage: r.label_coverage,
    estimated: Number(r.estimated) === 1,
    first_seen: Number(r.first_seen),
    last_seen: Number(r.last_seen),
    summary: r.summary,
    evidence_query: r.evidence_query,
    // The table keeps an alert's state, not when the monitor derived it.
    data_time: 0,
  }
}
