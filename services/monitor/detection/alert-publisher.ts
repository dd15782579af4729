import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { EventCodec } from '../../shared/codec/event-codec.ts'
import type { MonitorTrigger } from '../../shared/events/types.ts'
import type { RecordProducer } from '../../shared/kafka/producer.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import type { AlertDelivery } from '../alerting/index.ts'

interface PublishedAlert {
  alert_id: string
  status: string
  last_seen: number
  severity: string
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
      `SELECT alert_id, status, last_seen, severity FROM ${this.deps.ch.table('alerts')} FINAL WHERE model_id = ${lit(modelId)} AND window_size_ms = ${sizeMs}`,
    )
    return new Map(rows.map((r) => [r.alert_id, r]))
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
