import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAlertDelivery } from '../../../services/monitor/run/alerting/index.ts'
import { createDeliveryMetrics } from '../../../services/monitor/run/alerting/delivery-metrics.ts'
import { backoffDelay, DeliveryQueue, type DeliveryQueueOptions } from '../../../services/monitor/run/alerting/delivery-queue.ts'
import { DeliveryError, type Receiver } from '../../../services/monitor/run/alerting/receiver.ts'
import type { MonitorTrigger } from '../../../services/shared/events/types.ts'
import { captureLogger, metricValue, trigger, type CapturedLogger } from './fixtures.ts'

/** A receiver scripted per call: fail N times, hang until released, or succeed. */
class FakeReceiver implements Receiver {
  readonly calls: { trigger: MonitorTrigger; at: number; signal: AbortSignal }[] = []
  private gates: (() => void)[] = []
  failuresLeft: number
  hang = false
  error: Error = new Error('connect ECONNREFUSED')

  constructor(
    readonly name = 'fake',
    failures = 0,
  ) {
    this.failuresLeft = failures
  }

  async send(t: MonitorTrigger, signal: AbortSignal): Promise<void> {
    this.calls.push({ trigger: t, at: Date.now(), signal })
    if (this.hang) await new Promise<void>((resolve) => this.gates.push(resolve))
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1
      throw this.error
    }
  }

  /** Lets every hanging call go on. */
  release(): void {
    this.hang = false
    for (const open of this.gates.splice(0)) open()
  }

  sent(): string[] {
    return this.calls.map((c) => `${c.trigger.alert_id}:${c.trigger.status}`)
  }
}

const FAST: Partial<DeliveryQueueOptions> = { baseDelayMs: 1000, maxDelayMs: 60_000, random: () => 0.5, attemptTimeoutMs: 5000 }

let registry: Registry
let log: CapturedLogger
beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2024, 2, 4, 12) })
  registry = new Registry()
  log = captureLogger()
})
afterEach(() => {
  vi.useRealTimers()
})

function queue(receiver: Receiver, options: Partial<DeliveryQueueOptions> = {}): DeliveryQueue {
  return new DeliveryQueue({ receiver, logger: log.logger, metrics: createDeliveryMetrics(registry) }, { ...FAST, ...options })
}

const count = (name: string, labels: Record<string, string> = {}) => metricValue(registry, name, { receiver: 'fake', ...labels })

describe('backoffDelay', () => {
  it('doubles per failure up to the cap, with half of it jittered', () => {
    const opts = { baseDelayMs: 1000, maxDelayMs: 8000 }
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { ...opts, random: () => 0 }))).toEqual([500, 1000, 2000, 4000, 4000, 4000])
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, { ...opts, random: () => 0.999999 }))).toEqual([1000, 2000, 4000, 8000, 8000])
  })
})

describe('DeliveryQueue', () => {
  it('retries a failing receiver with exponential backoff and jitter, then delivers', async () => {
    const receiver = new FakeReceiver('fake', 3)
    const q = queue(receiver)
    const start = Date.now()
    q.enqueue(trigger())
    await vi.advanceTimersByTimeAsync(0)
    expect(receiver.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(60_000)
    await q.whenIdle()
    // random() = 0.5: delays are 3/4 of 1 s, 2 s, 4 s.
    expect(receiver.calls.map((c) => c.at - start)).toEqual([0, 750, 750 + 1500, 750 + 1500 + 3000])
    expect(await count('driftgate_alerts_delivered_total')).toBe(1)
    expect(await count('driftgate_alert_delivery_retries_total')).toBe(3)
    expect(log.events('alert_delivery_retry').map((l) => l.retry_in_ms)).toEqual([750, 1500, 3000])
    expect(log.events('alert_delivered_after_retries')).toHaveLength(1)
  })

  it('gives up after maxAttempts and counts the transition as failed', async () => {
    const receiver = new FakeReceiver('fake', 100)
    const q = queue(receiver, { maxAttempts: 3 })
    q.enqueue(trigger())
    await vi.advanceTimersByTimeAsync(60_000)
    expect(receiver.calls).toHaveLength(3)
    expect(await count('driftgate_alert_delivery_failed_total', { reason: 'exhausted' })).toBe(1)
    expect(await count('driftgate_alerts_delivered_total')).toBe(0)
    expect(log.events('alert_delivery_failed')).toHaveLength(1)
  })

  it('backs off per receiver: a dead one is not hammered while transitions are dropped or given up', async () => {
    const receiver = new FakeReceiver('fake', Infinity)
    const q = queue(receiver, { capacity: 2, maxAttempts: 2, random: () => 0 })
    // A steady stream of new alerts, one every 100 ms for a minute, into a queue of 2.
    for (let i = 0; i < 600; i++) {
      q.enqueue(trigger({ alert_id: `s-${i}` }))
      await vi.advanceTimersByTimeAsync(100)
    }
    const gaps = receiver.calls.slice(1).map((c, i) => c.at - receiver.calls[i]!.at)
    // random() = 0: waits of 500, 1000, 2000, ... capped at half of maxDelayMs (30 s).
    expect(gaps.slice(0, 6)).toEqual([500, 1000, 2000, 4000, 8000, 16_000])
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500)
    expect(receiver.calls.length).toBeLessThanOrEqual(10)
    // The queue stays full of the newest alerts: every failed one is the oldest and makes room.
    expect(await count('driftgate_alerts_dropped_total', { reason: 'queue_full' })).toBe(600 - 2)
    expect(q.size).toBe(2)
  })

  it('one success resets the receiver backoff', async () => {
    const receiver = new FakeReceiver('fake', 2)
    const q = queue(receiver)
    q.enqueue(trigger({ alert_id: 'a' }))
    await vi.advanceTimersByTimeAsync(10_000)
    receiver.failuresLeft = 1
    const at = Date.now()
    q.enqueue(trigger({ alert_id: 'b' }))
    await vi.advanceTimersByTimeAsync(10_000)
    // First retry of b waits the first step again (750 ms), not the third.
    expect(receiver.calls.filter((c) => c.trigger.alert_id === 'b').map((c) => c.at - at)).toEqual([0, 750])
  })

  it('does not retry a payload the receiver rejected', async () => {
    const receiver = new FakeReceiver('fake', 1)
    receiver.error = new DeliveryError('alertmanager answered 400: bad', false)
    const q = queue(receiver)
    q.enqueue(trigger())
    q.enqueue(trigger({ alert_id: 'a-2' }))
    await vi.advanceTimersByTimeAsync(10)
    expect(receiver.sent()).toEqual(['a-1:firing', 'a-2:firing'])
    expect(await count('driftgate_alert_delivery_failed_total', { reason: 'rejected' })).toBe(1)
    expect(await count('driftgate_alert_delivery_retries_total')).toBe(0)
  })

  it('is bounded: when full it drops the oldest pending transition and counts and logs it', async () => {
    const receiver = new FakeReceiver()
    receiver.hang = true
    const q = queue(receiver, { capacity: 3 })
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) q.enqueue(trigger({ alert_id: id }))
    // 'a' is in flight; b, c, d filled the queue; e and f pushed out b and c.
    expect(q.size).toBe(3)
    expect(await count('driftgate_alerts_dropped_total', { reason: 'queue_full' })).toBe(2)
    expect(log.events('alert_delivery_dropped').map((l) => l.alert_id)).toEqual(['b', 'c'])
    expect(await count('driftgate_alert_queue_depth')).toBe(3)
    receiver.release()
    await q.whenIdle()
    expect(receiver.sent()).toEqual(['a:firing', 'd:firing', 'e:firing', 'f:firing'])
  })

  it('coalesces: a newer transition of the same alert replaces the pending one in its place', async () => {
    const receiver = new FakeReceiver()
    receiver.hang = true
    const q = queue(receiver, { capacity: 2 })
    q.enqueue(trigger({ alert_id: 'x' }))
    q.enqueue(trigger({ alert_id: 'b' }))
    q.enqueue(trigger({ alert_id: 'c' }))
    q.enqueue(trigger({ alert_id: 'b', status: 'resolved' }))
    expect(q.size).toBe(2)
    expect(await count('driftgate_alerts_dropped_total', { reason: 'queue_full' })).toBe(0)
    expect(await count('driftgate_alerts_coalesced_total')).toBe(1)
    receiver.release()
    await q.whenIdle()
    expect(receiver.sent()).toEqual(['x:firing', 'b:resolved', 'c:firing'])
  })

  it('retries the newest state when the alert changed while its send was failing', async () => {
    const receiver = new FakeReceiver('fake', 1)
    receiver.hang = true
    const q = queue(receiver)
    q.enqueue(trigger({ alert_id: 'a' }))
    await vi.advanceTimersByTimeAsync(0)
    q.enqueue(trigger({ alert_id: 'b' }))
    q.enqueue(trigger({ alert_id: 'a', status: 'resolved' }))
    receiver.release()
    await vi.advanceTimersByTimeAsync(10_000)
    await q.whenIdle()
    // The retry goes first (order per receiver is kept) and carries the resolution.
    expect(receiver.sent()).toEqual(['a:firing', 'a:resolved', 'b:firing'])
  })

  it('aborts an attempt that gets no answer and retries it', async () => {
    const receiver = new FakeReceiver()
    receiver.hang = true
    const q = queue(receiver, { attemptTimeoutMs: 5000 })
    q.enqueue(trigger())
    await vi.advanceTimersByTimeAsync(5000)
    expect(receiver.calls[0]!.signal.aborted).toBe(true)
    expect(log.events('alert_delivery_retry')[0]!.err).toMatch(/no answer within 5000 ms/)
    receiver.release()
    await vi.advanceTimersByTimeAsync(1000)
    await q.whenIdle()
    expect(receiver.calls).toHaveLength(2)
    expect(await count('driftgate_alerts_delivered_total')).toBe(1)
  })

  it('close() flushes what it can, then drops the rest after its time limit', async () => {
    const receiver = new FakeReceiver('fake', 1000)
    const q = queue(receiver, { maxAttempts: 1000 })
    q.enqueue(trigger({ alert_id: 'a' }))
    q.enqueue(trigger({ alert_id: 'b' }))
    await vi.advanceTimersByTimeAsync(0)
    let closed = false
    const closing = q.close(3000).then(() => (closed = true))
    await vi.advanceTimersByTimeAsync(2999)
    expect(closed).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await closing
    expect(await count('driftgate_alerts_dropped_total', { reason: 'shutdown' })).toBe(2)
    q.enqueue(trigger({ alert_id: 'late' }))
    expect(await count('driftgate_alerts_dropped_total', { reason: 'closed' })).toBe(1)
    const calls = receiver.calls.length
    await vi.advanceTimersByTimeAsync(60_000)
    expect(receiver.calls.length).toBe(calls)
  })

  it('close() returns as soon as everything is delivered', async () => {
    const receiver = new FakeReceiver('fake', 1)
    const q = queue(receiver)
    q.enqueue(trigger())
    await vi.advanceTimersByTimeAsync(0)
    // The retry waits 750 ms normally; closing sends it at once.
    await q.close(10_000)
    expect(receiver.calls).toHaveLength(2)
    expect(await count('driftgate_alerts_delivered_total')).toBe(1)
  })
})

describe('createAlertDelivery', () => {
  it('a receiver that never answers does not block deliver() nor the other receivers', async () => {
    const dead = new FakeReceiver('dead')
    dead.hang = true
    const alive = new FakeReceiver('alive')
    const delivery = createAlertDelivery({ logger: log.logger, registry, receivers: [dead, alive], queue: { ...FAST, capacity: 100 } })
    let slowest = 0
    for (let i = 0; i < 1000; i++) {
      const before = performance.now()
      delivery.deliver(trigger({ alert_id: `a-${i}` }))
      slowest = Math.max(slowest, performance.now() - before)
      // Let the event loop turn now and then, as the monitor's pipeline does between batches.
      if (i % 50 === 49) await vi.advanceTimersByTimeAsync(0)
    }
    // deliver() returns at once (no await: it cannot wait for the dead receiver).
    expect(slowest).toBeLessThan(50)
    await vi.advanceTimersByTimeAsync(0)
    expect(alive.calls).toHaveLength(1000)
    expect(dead.calls).toHaveLength(1)
    expect(await metricValue(registry, 'driftgate_alerts_delivered_total', { receiver: 'alive' })).toBe(1000)
    expect(await metricValue(registry, 'driftgate_alerts_dropped_total', { receiver: 'dead', reason: 'queue_full' })).toBe(899)
    const closing = delivery.close()
    await vi.advanceTimersByTimeAsync(5000)
    await closing
  })

  it('reuses its metrics when built twice on the same registry, and does nothing without receivers', async () => {
    createAlertDelivery({ logger: log.logger, registry, receivers: [new FakeReceiver('one')] })
    const none = createAlertDelivery({ logger: log.logger, registry })
    expect(none.receivers).toEqual([])
    none.deliver(trigger())
    await none.close()
    expect(log.events('alert_delivery_disabled')).toHaveLength(1)
  })
})
