import { Counter, Gauge, type Registry } from 'prom-client'

// Alert delivery counters, per receiver, on a registry passed in. A registry that already holds
// them (a second delivery built on the same registry) gets the existing ones back.

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] })
}

export function createDeliveryMetrics(registry: Registry) {
  return {
    delivered: counter(registry, 'driftgate_alerts_delivered_total', 'Alert transitions accepted by a receiver.', ['receiver']),
    retried: counter(registry, 'driftgate_alert_delivery_retries_total', 'Failed attempts that were scheduled again with backoff.', ['receiver']),
    dropped: counter(
      registry,
      'driftgate_alerts_dropped_total',
      'Alert transitions given up without trying them all: queue_full (the oldest pending one made room), shutdown (still pending when close() ran out of time), closed (enqueued after close).',
      ['receiver', 'reason'],
    ),
    failed: counter(
      registry,
      'driftgate_alert_delivery_failed_total',
      'Alert transitions that could not be delivered: rejected (the receiver refused the payload) or exhausted (every attempt failed).',
      ['receiver', 'reason'],
    ),
    coalesced: counter(registry, 'driftgate_alerts_coalesced_total', 'Pending alert transitions replaced by a newer transition of the same alert.', [
      'receiver',
    ]),
    depth:
      (registry.getSingleMetric('driftgate_alert_queue_depth') as Gauge<'receiver'> | undefined) ??
      new Gauge({
        name: 'driftgate_alert_queue_depth',
        help: 'Alert transitions waiting for delivery, per receiver.',
        labelNames: ['receiver'],
        registers: [registry],
      }),
  }
}

export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>
