import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { EventCodec } from '../../shared/codec/event-codec.ts'
import type { AlertKind, AlertStatus, MonitorTrigger, Severity } from '../../shared/events/types.ts'
import type { RecordProducer } from '../../shared/kafka/producer.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import type { AlertDelivery } from '../alerting/index.ts'

export interface PublishedAlert {
  alert_id: string
  segment: string
  status: string
  first_seen: number
  last_seen: number
  severity: string
}

/** An `alerts` row as ClickHouse returns it. */
interface AlertRecord {
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

const ALERT_COLUMNS: (keyof AlertRecord)[] = [
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
    window_size_ms: r.window_size_ms,
    window_start: r.window_start,
    window_end: r.window_end,
    observed: r.observed,
    expected: r.expected,
    threshold: r.threshold,
    evidence: r.evidence_names.map((name, i) => ({ name, score: r.evidence_scores[i] ?? 0, detail: r.evidence_details[i] ?? '' })),
    label_coverage: r.label_coverage,
    estimated: Number(r.estimated) === 1,
    first_seen: r.first_seen,
    last_seen: r.last_seen,
    summary: r.summary,
    evidence_query: r.evidence_query,
  }
}

/** Orders an alert's states: a later last_seen wins, and at the same last_seen resolved wins. */
const alertVersion = (t: MonitorTrigger): string => (BigInt(t.last_seen) * 4n + (t.status === 'resolved' ? 2n : 1n)).toString()

/**
 * Publishes alert transitions: the trigger on Kafka first (acknowledged), then the alert's state
 * in ClickHouse, then on-call delivery (queued, never blocking). A crash in between re-publishes
 * the same transition (same alert_id, status and last_seen) on restart, which consumers treat
 * as the same event; the `alerts` table is what says a transition was already published.
 */
export class AlertPublisher {
  constructor(
    private readonly deps: { ch: ClickHouse; codec: EventCodec; producer: RecordProducer; triggersTopic: string; alerts?: AlertDelivery; logger: Logger },
  ) {}

  /** The published state of a model's alerts, by alert_id. */
  async published(modelId: string, sizeMs: number): Promise<Map<string, PublishedAlert>> {
    const rows = await this.deps.ch.query<PublishedAlert>(
      `SELECT alert_id, segment, status, first_seen, last_seen, severity FROM ${this.deps.ch.table('alerts')} FINAL WHERE model_id = ${lit(modelId)} AND window_size_ms = ${sizeMs}`,
    )
    return new Map(rows.map((r) => [r.alert_id, r]))
  }

  /** The published state of some of a model's alerts, as the triggers that were sent. */
  async publishedTriggers(modelId: string, alertIds: string[]): Promise<MonitorTrigger[]> {
    if (alertIds.length === 0) return []
    const rows = await this.deps.ch.query<AlertRecord>(
      `SELECT ${ALERT_COLUMNS.join(', ')} FROM ${this.deps.ch.table('alerts')} FINAL WHERE model_id = ${lit(modelId)} AND alert_id IN (${alertIds.map(lit).join(', ')}) ORDER BY alert_id`,
    )
    return rows.map(triggerFromRow)
  }

  /**
   * True when the published state comes after the trigger in the order the `alerts` table keeps
   * (its version: later last_seen, then resolved after firing) and consumers apply: the trigger
   * cannot replace it.
   */
  static outranks(published: Pick<PublishedAlert, 'status' | 'last_seen'>, trigger: MonitorTrigger): boolean {
    return published.last_seen > trigger.last_seen || (published.last_seen === trigger.last_seen && published.status === 'resolved' && trigger.status !== 'resolved')
  }

  /** True when the trigger says something the published state does not. */
  static differs(trigger: MonitorTrigger, published: PublishedAlert | undefined): boolean {
    return !published || published.status !== trigger.status || published.last_seen !== trigger.last_seen || published.severity !== trigger.severity
  }

  async publish(triggers: MonitorTrigger[]): Promise<void> {
    if (triggers.length === 0) return
    const { ch, codec, producer, triggersTopic } = this.deps
    const records = []
    for (const t of triggers) records.push({ key: t.model_id, value: await codec.encode(triggersTopic, 'MonitorTrigger', t) })
    await producer.send(triggersTopic, records)
    const now = Date.now()
    await ch.insert('alerts', triggers.map((t) => alertRow(t, alertVersion(t))))
    await ch.insert(
      'alert_events',
      triggers.map((t) => ({ alert_id: t.alert_id, model_id: t.model_id, kind: t.kind, status: t.status, last_seen: t.last_seen, trigger_json: JSON.stringify(t), emitted_at: now })),
    )
    for (const t of triggers) {
      this.deps.logger.info({ event: 'alert_published', alert_id: t.alert_id, kind: t.kind, subject: t.subject, status: t.status, severity: t.severity }, t.summary)
      this.deps.alerts?.deliver(t)
    }
  }
}
