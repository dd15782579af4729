import type { Registry } from 'prom-client'
import type { MonitorTrigger } from '../../../shared/events/types.ts'
import type { Logger } from '../../../shared/logging/logger.ts'
import { AlertmanagerClient } from './alertmanager-client.ts'
import { createDeliveryMetrics } from './delivery-metrics.ts'
import { DeliveryQueue, type DeliveryQueueOptions } from './delivery-queue.ts'
import type { Receiver } from './receiver.ts'
import { WebhookClient, type WebhookDetail } from './webhook-client.ts'

// On-call delivery of the monitor's alert transitions: Alertmanager and/or a JSON webhook, each
// behind its own bounded retrying queue (delivery-queue.ts), so deliver() never waits for them.
// Kafka's triggers topic and the alerts table stay the record of truth; this is the notification.

export { AlertmanagerClient, listAlerts, toAlertmanagerAlert, type AlertmanagerAlert, type GettableAlert } from './alertmanager-client.ts'
export { createDeliveryMetrics, type DeliveryMetrics } from './delivery-metrics.ts'
export { DeliveryQueue, backoffDelay, DEFAULT_QUEUE_OPTIONS, type DeliveryQueueOptions } from './delivery-queue.ts'
export { DeliveryError, type Receiver } from './receiver.ts'
export { RUNBOOKS, runbookFor } from '../../core/alerts/runbooks.ts'
export { WebhookClient, webhookBody, type WebhookBody } from './webhook-client.ts'

export interface AlertDeliveryOptions {
  /** Alertmanager base URL (ALERTMANAGER_URL), e.g. http://127.0.0.1:9093. */
  alertmanagerUrl?: string
  /** JSON webhook URL (ALERT_WEBHOOK_URL). */
  webhookUrl?: string
  /** Bearer token for the webhook (ALERT_WEBHOOK_TOKEN). */
  webhookToken?: string
  /** What the webhook body carries (ALERT_WEBHOOK_DETAIL). */
  webhookDetail?: WebhookDetail
  logger: Logger
  registry: Registry
  /** Queue settings, the same for every receiver. */
  queue?: Partial<DeliveryQueueOptions>
  /** How long a firing alert stays open in Alertmanager without a new send (see alertmanager-client.ts). */
  firingTtlMs?: number
  /** generatorURL of Alertmanager alerts (a dashboard link), optional. */
  generatorUrl?: (trigger: MonitorTrigger) => string | undefined
  /** How long close() keeps trying pending transitions. */
  closeTimeoutMs?: number
  /** More receivers, each with its own queue. */
  receivers?: Receiver[]
  fetch?: typeof fetch
}

export interface AlertDelivery {
  /** Queues the transition for every receiver; synchronous, never throws, never waits for the network. */
  deliver(trigger: MonitorTrigger): void
  /** Stops accepting, flushes for at most closeTimeoutMs, then drops what is left. */
  close(): Promise<void>
  /** Resolves when every queue is empty (tests). */
  whenIdle(): Promise<void>
  /** Names of the configured receivers. */
  readonly receivers: readonly string[]
}

export function createAlertDelivery(options: AlertDeliveryOptions): AlertDelivery {
  const { logger } = options
  const receivers: Receiver[] = []
  if (options.alertmanagerUrl) {
    receivers.push(
      new AlertmanagerClient({ url: options.alertmanagerUrl, firingTtlMs: options.firingTtlMs, generatorUrl: options.generatorUrl, fetch: options.fetch }),
    )
  }
  if (options.webhookUrl)
    receivers.push(new WebhookClient({ url: options.webhookUrl, token: options.webhookToken, detail: options.webhookDetail, fetch: options.fetch }))
  receivers.push(...(options.receivers ?? []))
  const names = receivers.map((r) => r.name)
  if (new Set(names).size !== names.length) throw new Error(`alert receivers need distinct names: ${names.join(', ')}`)

  const metrics = createDeliveryMetrics(options.registry)
  const queues = receivers.map((receiver) => new DeliveryQueue({ receiver, logger, metrics }, options.queue))
  if (queues.length === 0)
    logger.info(
      { event: 'alert_delivery_disabled' },
      'no alert receiver configured (ALERTMANAGER_URL, ALERT_WEBHOOK_URL); alerts go to Kafka and ClickHouse only',
    )
  else logger.info({ event: 'alert_delivery_started', receivers: names }, 'alert delivery started')

  return {
    receivers: names,
    deliver(trigger) {
      for (const queue of queues) {
        try {
          queue.enqueue(trigger)
        } catch (error) {
          logger.error({ event: 'alert_enqueue_failed', err: error, alert_id: trigger.alert_id }, 'could not queue an alert transition')
        }
      }
    },
    async close() {
      await Promise.all(queues.map((q) => q.close(options.closeTimeoutMs ?? 5000)))
    },
    async whenIdle() {
      await Promise.all(queues.map((q) => q.whenIdle()))
    },
  }
}
