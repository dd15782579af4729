import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { EventCodec } from '../../shared/codec/event-codec.ts'
import type { MonitorTrigger } from '../../shared/events/types.ts'
import { ALERT_COLUMNS, alertRow, triggerFromRow, type AlertRecord } from '../../shared/model/alert-record.ts'
import type { RecordProducer } from '../../shared/kafka/producer.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import type { AlertDelivery } from '../alerting/index.ts'
import type { PublishedAlert } from '../core/alert-reconciliation.ts'

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
