import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import type { EventCodec } from '../../shared/codec/event-codec.ts'
import type { MonitorTrigger } from '../../shared/events/types.ts'
import { alertEventRow, alertRow, alertVersion } from '../../shared/records/alert-record.ts'
import type { RecordProducer } from '../../shared/kafka/producer.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import type { AlertDelivery } from './alerting/index.ts'

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

  async publish(triggers: MonitorTrigger[]): Promise<void> {
    if (triggers.length === 0) return
    const { ch, codec, producer, triggersTopic } = this.deps
    const records = []
    for (const t of triggers) records.push({ key: t.model_id, value: await codec.encode(triggersTopic, 'MonitorTrigger', t) })
    await producer.send(triggersTopic, records)
    const now = Date.now()
    await ch.insert(
      'alerts',
      triggers.map((t) => alertRow(t, alertVersion(t))),
    )
    await ch.insert(
      'alert_events',
      triggers.map((t) => alertEventRow(t, now)),
    )
    for (const t of triggers) {
      this.deps.logger.info(
        { event: 'alert_published', alert_id: t.alert_id, kind: t.kind, subject: t.subject, status: t.status, severity: t.severity },
        t.summary,
      )
      this.deps.alerts?.deliver(t)
    }
  }
}
