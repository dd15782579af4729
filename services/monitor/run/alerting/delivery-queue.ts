import type { MonitorTrigger } from '../../../shared/events/types.ts'
import type { Logger } from '../../../shared/logging/logger.ts'
import type { DeliveryMetrics } from './delivery-metrics.ts'
import { DeliveryError, type Receiver } from './receiver.ts'

// One bounded in-memory queue per receiver, so that a dead or slow receiver never blocks the
// monitor's pipeline, nor the other receivers:
// - enqueue() is synchronous: it only touches memory and never waits for the network.
// - One request at a time per receiver, in order, so a receiver sees the transitions of an
//   alert in the order they happened. A failed request is retried first. The backoff
//   (exponential, with jitter) belongs to the receiver, not to one transition: after a failure
//   nothing is sent to that receiver before the backoff ends, whatever is dropped or given up
//   meanwhile, so a dead receiver is not hammered; one success resets it.
// - Coalescing: a pending transition of an alert is replaced by a newer one of the same alert
//   (same alert_id), keeping its place in the queue. The receiver only needs the latest state
//   (an alert that fired and resolved before it could be told is sent as resolved), and an
//   alert flapping fast takes one slot, not one per transition.
// - When full, the OLDEST pending transition is dropped, counted and logged. A newer state
//   supersedes an older one, and the newest transitions are what on-call needs now: the queue
//   is full only when the receiver has been down for a while, and the alerts that changed most
//   recently are the ones most likely still relevant. Nothing is lost for good: the alerts table
//   in ClickHouse keeps every alert's latest state.
// - close() stops accepting, tries what is pending (the current backoff wait cut short) for a
//   bounded time, then gives up on the rest (counted as dropped, reason shutdown).

export interface DeliveryQueueOptions {
  /** Pending transitions kept per receiver (distinct alerts, thanks to coalescing). */
  capacity: number
  /** Attempts per transition before it counts as failed. */
  maxAttempts: number
  /** Backoff before the second attempt; doubles for each further one up to maxDelayMs. */
  baseDelayMs: number
  maxDelayMs: number
  /** An attempt still unanswered after this long is aborted and counts as a failure. */
  attemptTimeoutMs: number
  /** Source of jitter in [0, 1); injectable for tests. */
  random: () => number
}

export const DEFAULT_QUEUE_OPTIONS: DeliveryQueueOptions = {
  capacity: 1000,
  maxAttempts: 10,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  attemptTimeoutMs: 10_000,
  random: Math.random,
}

/**
 * Delay before the attempt after `failedAttempts` failures: exponential, capped, with "equal
 * jitter" (half fixed, half random) so that many monitor instances hitting the same dead receiver
 * do not retry in lockstep, while the wait still grows.
 */
export function backoffDelay(failedAttempts: number, options: Pick<DeliveryQueueOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const exp = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, failedAttempts - 1))
  return Math.round(exp / 2 + options.random() * (exp / 2))
}

interface Item {
  trigger: MonitorTrigger
  /** Attempts made so far (also for the transition it replaced). */
  attempts: number
}

export interface DeliveryQueueDeps {
  receiver: Receiver
  logger: Logger
  metrics: DeliveryMetrics
}

/** The error's message, with its cause (fetch hides ECONNREFUSED and the like there). */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause instanceof Error ? error.cause.message : null
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message
}

export class DeliveryQueue {
  private readonly options: DeliveryQueueOptions
  private readonly name: string
  /** Pending transitions by alert_id, oldest first; a failed one goes back first. */
  private pending = new Map<string, Item>()
  private inFlight: { item: Item; abort: AbortController } | null = null
  /** Consecutive failed attempts of this receiver, and when it may be tried again (ms). */
  private failures = 0
  private resumeAt = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private pumping = false
  private state: 'open' | 'closing' | 'closed' = 'open'
  private idleWaiters: (() => void)[] = []
  private closing: Promise<void> | null = null

  constructor(
    private readonly deps: DeliveryQueueDeps,
    options: Partial<DeliveryQueueOptions> = {},
  ) {
    this.options = { ...DEFAULT_QUEUE_OPTIONS, ...options }
    if (this.options.capacity < 1) throw new Error('delivery queue capacity must be at least 1')
    this.name = deps.receiver.name
  }

  /** Pending transitions (not counting the one being sent). */
  get size(): number {
    return this.pending.size
  }

  /** Queues the trigger for delivery and returns at once; never throws for a receiver's sake. */
  enqueue(trigger: MonitorTrigger): void {
    const { logger, metrics } = this.deps
    if (this.state !== 'open') {
      metrics.dropped.inc({ receiver: this.name, reason: 'closed' })
      logger.warn(
        { event: 'alert_delivery_dropped', receiver: this.name, alert_id: trigger.alert_id, reason: 'closed' },
        'alert delivery is closed; transition dropped',
      )
      return
    }
    const existing = this.pending.get(trigger.alert_id)
    if (existing) {
      existing.trigger = trigger
      metrics.coalesced.inc({ receiver: this.name })
      return
    }
    if (this.pending.size >= this.options.capacity) this.dropOldest()
    this.pending.set(trigger.alert_id, { trigger, attempts: 0 })
    metrics.depth.set({ receiver: this.name }, this.pending.size)
    this.schedule()
  }

  /** Resolves when nothing is pending or in flight (tests, flushing). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Stops accepting, delivers what it can within `timeoutMs`, drops the rest. Idempotent. */
  close(timeoutMs = 5000): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs)
    return this.closing
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.state = 'closing'
    this.resumeAt = 0
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    this.schedule()
    let deadline: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.whenIdle(), new Promise<void>((resolve) => (deadline = setTimeout(resolve, timeoutMs)))])
    clearTimeout(deadline)
    this.state = 'closed'
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.inFlight?.abort.abort()
    const left = this.pending.size
    if (left > 0) {
      this.deps.metrics.dropped.inc({ receiver: this.name, reason: 'shutdown' }, left)
      this.deps.logger.warn(
        { event: 'alert_delivery_dropped', receiver: this.name, reason: 'shutdown', count: left, alert_ids: [...this.pending.keys()].slice(0, 20) },
        'alert transitions still pending at shutdown were dropped',
      )
    }
    this.pending.clear()
    this.deps.metrics.depth.set({ receiver: this.name }, 0)
    this.notifyIdle()
  }

  private dropOldest(): void {
    const oldest = this.pending.entries().next()
    if (oldest.done) return
    const [alertId, item] = oldest.value
    this.pending.delete(alertId)
    this.deps.metrics.dropped.inc({ receiver: this.name, reason: 'queue_full' })
    this.deps.logger.warn(
      {
        event: 'alert_delivery_dropped',
        receiver: this.name,
        reason: 'queue_full',
        alert_id: alertId,
        status: item.trigger.status,
        attempts: item.attempts,
        capacity: this.options.capacity,
      },
      'alert queue full; oldest pending transition dropped',
    )
  }

  private isIdle(): boolean {
    return this.pending.size === 0 && this.inFlight === null
  }

  private notifyIdle(): void {
    if (!this.isIdle() && this.state !== 'closed') return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  private schedule(): void {
    if (this.pumping || this.timer || this.state === 'closed') return
    void this.pump()
  }

  /** Sends pending transitions one at a time until none is left or the first must wait. */
  private async pump(): Promise<void> {
    this.pumping = true
    try {
      while (this.state !== 'closed') {
        const first = this.pending.values().next()
        if (first.done) break
        const item = first.value
        const wait = this.resumeAt - Date.now()
        if (wait > 0) {
          this.timer = setTimeout(() => {
            this.timer = null
            this.schedule()
          }, wait)
          this.timer.unref?.()
          return
        }
        this.pending.delete(item.trigger.alert_id)
        this.deps.metrics.depth.set({ receiver: this.name }, this.pending.size)
        await this.attempt(item)
      }
    } finally {
      this.pumping = false
    }
    this.notifyIdle()
  }

  private async attempt(item: Item): Promise<void> {
    const { logger, metrics, receiver } = this.deps
    const abort = new AbortController()
    this.inFlight = { item, abort }
    item.attempts += 1
    let timeout: ReturnType<typeof setTimeout> | undefined
    try {
      await Promise.race([
        receiver.send(item.trigger, abort.signal),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => {
            abort.abort()
            reject(new Error(`no answer within ${this.options.attemptTimeoutMs} ms`))
          }, this.options.attemptTimeoutMs)
          timeout.unref?.()
        }),
      ])
      this.failures = 0
      this.resumeAt = 0
      metrics.delivered.inc({ receiver: this.name })
      if (item.attempts > 1)
        logger.info(
          { event: 'alert_delivered_after_retries', receiver: this.name, alert_id: item.trigger.alert_id, attempts: item.attempts },
          'alert delivered after retries',
        )
    } catch (error) {
      this.onFailure(item, error)
    } finally {
      clearTimeout(timeout)
      this.inFlight = null
    }
  }

  private onFailure(item: Item, error: unknown): void {
    const { logger, metrics } = this.deps
    const alertId = item.trigger.alert_id
    const base = { receiver: this.name, alert_id: alertId, status: item.trigger.status, attempts: item.attempts, err: errorText(error) }
    if (this.state === 'closed') {
      metrics.dropped.inc({ receiver: this.name, reason: 'shutdown' })
      logger.warn({ event: 'alert_delivery_dropped', ...base, reason: 'shutdown' }, 'alert delivery abandoned at shutdown')
      return
    }
    const retryable = !(error instanceof DeliveryError) || error.retryable
    if (!retryable) {
      // The receiver answered (and refused this payload): it is up, no reason to back off.
      this.failures = 0
      this.resumeAt = 0
      metrics.failed.inc({ receiver: this.name, reason: 'rejected' })
      logger.error({ event: 'alert_delivery_failed', ...base, reason: 'rejected' }, 'receiver rejected the alert; not retried')
      return
    }
    this.failures += 1
    const delay = backoffDelay(this.failures, this.options)
    this.resumeAt = Date.now() + delay
    if (item.attempts >= this.options.maxAttempts) {
      metrics.failed.inc({ receiver: this.name, reason: 'exhausted' })
      logger.error({ event: 'alert_delivery_failed', ...base, reason: 'exhausted' }, 'alert delivery failed on every attempt; giving up on this transition')
      return
    }
    if (!this.pending.has(alertId) && this.pending.size >= this.options.capacity) {
      // The queue filled up while this one was in flight: it is the oldest, so it makes room.
      metrics.dropped.inc({ receiver: this.name, reason: 'queue_full' })
      logger.warn(
        { event: 'alert_delivery_dropped', ...base, reason: 'queue_full', capacity: this.options.capacity },
        'alert queue full; failed transition dropped instead of retried',
      )
      return
    }
    // Back to the front; a newer transition of the same alert that arrived meanwhile replaces it.
    const next = this.pending.get(alertId) ?? item
    next.attempts = item.attempts
    const rest = this.pending
    rest.delete(alertId)
    this.pending = new Map([[alertId, next], ...rest])
    metrics.retried.inc({ receiver: this.name })
    metrics.depth.set({ receiver: this.name }, this.pending.size)
    logger.warn({ event: 'alert_delivery_retry', ...base, retry_in_ms: delay }, 'alert delivery failed; retrying with backoff')
  }
}
