import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs'
import type { Logger } from '../logging/logger.ts'
import { CoPartitionedAssigner } from './co-partition-assigner.ts'
import type { ConsumedRecord } from './records.ts'

export interface BatchConsumerOptions {
  groupId: string
  topics: string[]
  /** Handles one batch. Offsets are committed only after it resolves and, when it returns
   *  `settled`, after that resolves too (work the handler finishes later, for several batches at
   *  once). A rejection is treated as a dependency failure: the same batch is retried with
   *  backoff, never skipped. */
  handleBatch(records: ConsumedRecord[], progress: PartitionProgress[]): Promise<void | { settled: Promise<void> }>
  /** Batches whose work is not settled yet before fetching waits (default 20). */
  maxUnsettledBatches?: number
  /** Called after the consumer lost partitions (their work is committed or will be replayed). */
  onPartitionsRevoked?(partitions: { topic: string; partition: number }[]): void
  /** Called with the whole assignment after every (re)join. */
  onPartitionsAssigned?(partitions: { topic: string; partition: number }[]): void
  maxBatchSize?: number
  /** How long the first record of a batch may wait for more. */
  lingerMs?: number
  fromBeginning?: boolean
  retry?: { initialMs?: number; maxMs?: number }
  sessionTimeoutMs?: number
}

/** How far this batch takes a partition, and whether that is the end of what it holds now. */
export interface PartitionProgress {
  topic: string
  partition: number
  /** Newest record timestamp of the partition in the batch. */
  maxTimestamp: number
  /** The batch reaches the partition's high watermark. */
  caughtUp: boolean
}

export interface BatchConsumer {
  start(): Promise<void>
  /** Ordered and idempotent: finishes the batch in flight, commits, leaves the group. */
  stop(): Promise<void>
  /** Partitions currently assigned to this member. */
  assignment(): { topic: string; partition: number }[]
  /** False while a batch keeps failing (the consumer is paused on it). */
  healthy(): boolean
  /** Time of the last completed batch or idle fetch (for a stalled-loop health check). */
  lastProgressAt(): number
}

interface Pending {
  records: ConsumedRecord[]
  progress: PartitionProgress[]
  waiters: { resolve(): void; reject(error: unknown): void }[]
  heartbeats: (() => Promise<void>)[]
  timer: NodeJS.Timeout | null
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The one consumer loop. kafkajs hands over one partition's batch at a time; up to all
 * assigned partitions run concurrently and their records are gathered into one batch
 * (up to maxBatchSize records or lingerMs), so the handler does one write per table per batch.
 * Every partition's eachBatch waits until the gathered batch is handled and its offsets
 * committed: while the handler retries (ClickHouse slow or down) nothing new is fetched, which
 * is the backpressure, and memory is bounded by one fetch per partition.
 */
export function createBatchConsumer(kafka: Kafka, options: BatchConsumerOptions, logger: Logger): BatchConsumer {
  const maxBatchSize = options.maxBatchSize ?? 10_000
  const lingerMs = options.lingerMs ?? 200
  const initialRetryMs = options.retry?.initialMs ?? 250
  const maxRetryMs = options.retry?.maxMs ?? 10_000

  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    partitionAssigners: [CoPartitionedAssigner],
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
  })

  let current: Assigned = []
  let pending: Pending | null = null
  let flushing: Promise<void> = Promise.resolve()
  let stopping = false
  let started = false
  let stopped: Promise<void> | null = null
  let failing = false
  let progressAt = Date.now()
  // Commits in batch order, each after its batch's work settled.
  let commits: Promise<void> = Promise.resolve()
  const unsettled: Promise<void>[] = []
  const maxUnsettled = options.maxUnsettledBatches ?? 20

  type Assigned = { topic: string; partition: number }[]

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const previous = current
    current = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })))
    const lost = previous.filter((p) => !current.some((c) => c.topic === p.topic && c.partition === p.partition))
    logger.info({ event: 'partitions_assigned', assigned: current, revoked: lost }, 'consumer group joined')
    if (lost.length > 0) options.onPartitionsRevoked?.(lost)
    options.onPartitionsAssigned?.(current)
  })
  consumer.on(consumer.events.FETCH, () => {
    if (!pending) progressAt = Date.now()
  })

  const flush = async (batch: Pending): Promise<void> => {
    if (batch.timer) clearTimeout(batch.timer)
    let delay = initialRetryMs
    let settled: Promise<void> = Promise.resolve()
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await options.handleBatch(batch.records, batch.progress)
        if (result) settled = result.settled
        break
      } catch (error) {
        if (!failing) logger.warn({ event: 'consumer_paused', err: error, records: batch.records.length }, 'batch failed; consumption paused, retrying')
        failing = true
        if (stopping && attempt >= 3) throw error
        // Keep our group membership while we wait: a member that misses heartbeats is
        // kicked out, and its partitions would be replayed by another one.
        const until = Date.now() + delay
        while (Date.now() < until) {
          await Promise.all(batch.heartbeats.map((hb) => Promise.resolve().then(hb).catch(() => undefined)))
          await sleep(Math.min(1_000, until - Date.now()))
        }
        delay = Math.min(maxRetryMs, delay * 2) * (0.8 + Math.random() * 0.4)
      }
    }
    if (failing) logger.info({ event: 'consumer_resumed' }, 'batch handled after retries; consumption resumed')
    failing = false
    // Only the offsets are kept until the commit, not the records.
    const offsets = nextOffsets(batch.records)
    const done = commits.then(() => settled).then(() => commit(offsets))
    commits = done.catch(() => undefined)
    unsettled.push(done)
    void done.finally(() => unsettled.splice(unsettled.indexOf(done), 1))
    // Backpressure: with too much work unsettled, stop fetching until the oldest settles.
    while (unsettled.length > maxUnsettled) await unsettled[0]
    progressAt = Date.now()
  }

  const nextOffsets = (records: ConsumedRecord[]): { topic: string; partition: number; offset: string }[] => {
    const next = new Map<string, { topic: string; partition: number; offset: string }>()
    for (const r of records) {
      const key = `${r.topic}:${r.partition}`
      const offset = (BigInt(r.offset) + 1n).toString()
      const seen = next.get(key)
      if (!seen || BigInt(seen.offset) < BigInt(offset)) next.set(key, { topic: r.topic, partition: r.partition, offset })
    }
    return [...next.values()]
  }

  const commit = async (offsets: { topic: string; partition: number; offset: string }[]): Promise<void> => {
    try {
      await consumer.commitOffsets(offsets)
    } catch (error) {
      // A rebalance took the partitions away between write and commit. The writes are
      // idempotent, so the new owner replaying these records changes nothing.
      logger.warn({ event: 'commit_failed', err: error }, 'offset commit failed; records will be replayed by the next owner')
    }
  }

  const startFlush = (): void => {
    const batch = pending
    if (!batch) return
    pending = null
    flushing = flushing.then(() =>
      flush(batch).then(
        () => batch.waiters.forEach((w) => w.resolve()),
        (error: unknown) => batch.waiters.forEach((w) => w.reject(error)),
      ),
    )
  }

  const eachBatch = async ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> => {
    if (!isRunning() || isStale() || batch.messages.length === 0) return
    const records: ConsumedRecord[] = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      timestamp: Number(m.timestamp),
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)])),
    }))
    const done = new Promise<void>((resolve, reject) => {
      pending ??= { records: [], progress: [], waiters: [], heartbeats: [], timer: null }
      pending.records.push(...records)
      pending.progress.push({
        topic: batch.topic,
        partition: batch.partition,
        maxTimestamp: records.reduce((max, r) => Math.max(max, r.timestamp), 0),
        caughtUp: BigInt(batch.lastOffset()) + 1n >= BigInt(batch.highWatermark),
      })
      pending.waiters.push({ resolve, reject })
      pending.heartbeats.push(heartbeat)
      if (pending.records.length >= maxBatchSize) startFlush()
      else pending.timer ??= setTimeout(startFlush, lingerMs)
    })
    await done
    // Moves kafkajs's fetch position past the batch (the commit itself was done by flush).
    resolveOffset(batch.lastOffset())
  }

  return {
    async start() {
      if (started) return
      started = true
      await consumer.connect()
      for (const topic of options.topics) await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 64,
        eachBatch,
      })
    },
    stop() {
      stopped ??= (async () => {
        stopping = true
        startFlush()
        await flushing.catch(() => undefined)
        await commits.catch(() => undefined)
        await consumer.disconnect()
        logger.info({ event: 'consumer_stopped', group: options.groupId }, 'consumer stopped')
      })()
      return stopped
    },
    assignment: () => current,
    healthy: () => !failing,
    lastProgressAt: () => progressAt,
  }
}
