import type { PartitionProgress } from '../../shared/kafka/batch-consumer.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import type { PartitionMark } from '../../shared/records/partition-mark.ts'

const RETRY_MS = 1_000

interface PartitionState {
  finished: number
  unsettled: number
  /** What computed_progress says now: caught up (holds nothing back once idle). */
  caughtUp: boolean
}

/**
 * Keeps computed_progress in step with the batches. A partition is finished through the newest
 * record of its latest settled batch (settled in batch order); it is caught up only while that
 * batch reached the partition's end and no later batch of it is still being computed, so a slow
 * round never lets an idle-looking partition count as done.
 */
export class FinishedMarks {
  private readonly partitions = new Map<string, PartitionState>()
  private settledInOrder: Promise<unknown> = Promise.resolve()
  private writes: Promise<void> = Promise.resolve()
  private readonly unwritten = new Map<string, PartitionMark>()
  private failing = false
  private retryTimer: NodeJS.Timeout | null = null

  constructor(
    private readonly progress: { record(marks: PartitionMark[]): Promise<void> },
    private readonly logger: Logger,
  ) {}

  private state(topic: string, partition: number): PartitionState {
    const key = `${topic}\u0000${partition}`
    let s = this.partitions.get(key)
    if (!s) this.partitions.set(key, (s = { finished: 0, unsettled: 0, caughtUp: false }))
    return s
  }

  /** Queues marks (a partition's latest replaces an unwritten earlier one) and writes them. A
   *  failed write is retried a second later: a busy mark lost to a ClickHouse hiccup would leave
   *  the policy reading a stale caught-up partition as idle. */
  private write(marks: PartitionMark[]): void {
    if (marks.length === 0) return
    for (const m of marks) this.unwritten.set(`${m.topic}\u0000${m.partition}`, m)
    this.writes = this.writes.then(() => this.writeUnwritten())
  }

  private async writeUnwritten(): Promise<void> {
    const batch = new Map(this.unwritten)
    if (batch.size === 0) return
    try {
      await this.progress.record([...batch.values()])
    } catch (error) {
      if (!this.failing) this.logger.warn({ event: 'computed_progress_failed', err: error }, 'could not record how far the monitor is finished; retrying')
      this.failing = true
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = null
        this.writes = this.writes.then(() => this.writeUnwritten())
      }, RETRY_MS)
      return
    }
    this.failing = false
    for (const [key, m] of batch) if (this.unwritten.get(key) === m) this.unwritten.delete(key)
  }

  /** A batch was stored; `settled` resolves once everything it touched is recomputed. */
  track(progress: PartitionProgress[], settled: Promise<void>): void {
    const busy: PartitionMark[] = []
    for (const p of progress) {
      const s = this.state(p.topic, p.partition)
      s.unsettled++
      if (s.caughtUp) {
        s.caughtUp = false
        busy.push({ topic: p.topic, partition: p.partition, maxTimestamp: s.finished, caughtUp: false })
      }
    }
    this.write(busy)
    const done = (ok: boolean): void => {
      const marks: PartitionMark[] = []
      for (const p of progress) {
        const s = this.state(p.topic, p.partition)
        s.unsettled--
        // A batch that failed is replayed (after a restart): its records are not finished.
        if (!ok) continue
        s.finished = Math.max(s.finished, p.maxTimestamp)
        s.caughtUp = p.caughtUp && s.unsettled === 0
        marks.push({ topic: p.topic, partition: p.partition, maxTimestamp: s.finished, caughtUp: s.caughtUp })
      }
      this.write(marks)
    }
    this.settledInOrder = this.settledInOrder
      .then(() => settled)
      .then(
        () => done(true),
        () => done(false),
      )
  }

  /** Partitions just assigned, and whether each has nothing to read (a state left by an earlier
   *  owner that crashed must not say caught up while records wait). */
  assigned(partitions: { topic: string; partition: number; idle: boolean }[]): void {
    const marks = partitions.map((p) => {
      const s = this.state(p.topic, p.partition)
      s.caughtUp = p.idle && s.unsettled === 0
      return { topic: p.topic, partition: p.partition, maxTimestamp: s.finished, caughtUp: s.caughtUp }
    })
    this.write(marks)
  }

  /** Waits for the marks of the batches settled so far to be written (or to fail). */
  async flush(): Promise<void> {
    await this.writes
  }

  /** Stopping: one last attempt for marks not written yet, and no retries after it. */
  async close(): Promise<void> {
    const stopRetries = (): void => {
      if (this.retryTimer) clearTimeout(this.retryTimer)
      this.retryTimer = null
    }
    stopRetries()
    await this.writes
    if (this.unwritten.size > 0) await this.writeUnwritten()
    stopRetries()
  }
}
