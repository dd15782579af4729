import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs'
import type { Logger } from '../logging/logger.ts'
import { CoPartitionedAssigner } from './co-partition-assigner.ts'
import { handleIsolating } from './isolate-failure.ts'
import { textHeaders, type ConsumedRecord } from './records.ts'
import { StallWatch, type PartitionOffsets, type Stall } from './stall-watch.ts'

/** How long a partition with lag may go without its committed offset moving before the
 *  consumer is unhealthy (the services' CONSUMER_STALL_MS default). */
export const DEFAULT_STALL_MS = 120_000

export interface BatchConsumerOptions {
  groupId: string
  topics: string[]
  /** Handles one batch. Offsets are committed only after it resolves and, when it returns
   *  `settled`, after that resolves too (work the handler finishes later, for several batches at
   *  once). A rejection is retried with backoff, never skipped, unless `isolate` finds the
   *  record that causes it. */
  handleBatch(records: ConsumedRecord[], progress: PartitionProgress[]): Promise<void | { settled: Promise<void> }>
  /** Finding the record that makes a batch fail (see isolate-failure.ts): `mayBeRecords` says
   *  whether a failure can be the records' fault, `reject` dead-letters the one found; its
   *  offset is then committed with the rest of the batch. Without it every failure is retried. */
  isolate?: { mayBeRecords(error: unknown): Promise<boolean>; reject(record: ConsumedRecord, error: unknown): Promise<void> }
  /** Unhealthy once a partition with lag has not committed for this long (DEFAULT_STALL_MS). */
  stallMs?: number
  /** How often the group's committed offsets are compared with the partitions' ends. */
  stallCheckMs?: number
  /** Batches whose work is not settled yet before fetching waits (default 20). */
  maxUnsettledBatches?: number
  /** Called after the consumer lost partitions (their work is committed or will be replayed). */
  onPartitionsRevoked?(partitions: { topic: string; partition: number }[]): void
  /** Called with the whole assignment after every (re)join. */
  onPartitionsAssigned?(partitions: { topic: string; partition: number }[]): void
  /** Called when a rebalance begins: work in flight should settle now, so that it is committed
   *  before the partitions may move (see `drainMs`). */
  onRebalance?(): void
  /** How long a rebalance found between batches waits for the work in flight to be committed
   *  before the member rejoins (default 20 s; kafkajs drops a member that takes its 60 s
   *  rebalance timeout). What is not committed by then is replayed by the partitions' new owners. */
  drainMs?: number
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
  /** The offset after the partition's newest record in the batch. */
  next?: bigint
}

export interface BatchConsumer {
  start(): Promise<void>
  /** Ordered and idempotent: finishes the batch in flight, commits, leaves the group. */
  stop(): Promise<void>
  /** Partitions currently assigned to this member. */
  assignment(): { topic: string; partition: number }[]
  /** The group's committed offset and the watermarks of each of `partitions`, now (once started). */
  partitionOffsets(partitions: { topic: string; partition: number }[]): Promise<PartitionOffsets[]>
  /** The end offset of every partition of the consumed topics, now (once started). */
  endOffsets(): Promise<{ topic: string; partition: number; end: bigint }[]>
  /** False once some assigned partition is stuck (StallWatch), or progress could not be checked. */
  healthy(): boolean
  /** Per assigned partition, how long it has been stuck (0: moving or nothing to read). */
  stalls(): Stall[]
}

interface Pending {
  records: ConsumedRecord[]
  progress: PartitionProgress[]
  waiters: { resolve(): void; reject(error: unknown): void }[]
  heartbeats: (() => Promise<void>)[]
  timer: NodeJS.Timeout | null
}

interface InFlightBatch {
  /** Waiting for the handler's `settled` (or an earlier batch's), or for the commit itself. */
  stage: 'settling' | 'committing'
  since: number
  offsets: { topic: string; partition: number; offset: string }[]
  done: Promise<void>
}

/**
 * One promise for the handler's results. Made out here: a callback created inside `handle`
 * would share its scope, which holds the batch, and keep every record and kafkajs's fetched
 * batches alive until the work settles (seconds, up to maxUnsettledBatches batches).
 */
function settledOf(results: (void | { settled: Promise<void> })[]): Promise<void> {
  return Promise.all(results.map((r) => r?.settled)).then(() => undefined)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** kafkajs's signal that the group is rebalancing and this member must rejoin. */
const isRebalancing = (error: unknown): boolean =>
  ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'NOT_COORDINATOR_FOR_GROUP'].includes((error as { type?: string } | null)?.type ?? '')

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
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS
  const watch = new StallWatch(stallMs)
  let stallTimer: NodeJS.Timeout | null = null
  let admin: Admin | null = null
  // Commits in batch order, each after its batch's work settled.
  let commits: Promise<void> = Promise.resolve()
  // Batches handled and not committed yet, oldest first (a stall report names the oldest).
  const uncommitted: InFlightBatch[] = []
  const maxUnsettled = options.maxUnsettledBatches ?? 20
  const drainMs = options.drainMs ?? 20_000
  // A drain before rejoining, shared by the partitions' eachBatch calls that find the rebalance.
  let draining: Promise<void> | null = null

  type Assigned = { topic: string; partition: number }[]

  consumer.on(consumer.events.REBALANCING, () => options.onRebalance?.())

  /**
   * Commits the work in flight before this member rejoins a rebalancing group. Until it rejoins,
   * the group keeps its generation and the broker accepts its commits; after, the partitions may
   * belong to another member, which would replay and recompute what was not committed. Nothing is
   * fetched meanwhile (kafkajs waits for every eachBatch of the fetch); heartbeats keep the
   * member in the group.
   */
  const drainBeforeRejoin = (heartbeat: () => Promise<void>): Promise<void> => {
    draining ??= (async () => {
      options.onRebalance?.()
      const started = Date.now()
      const inFlight = uncommitted.length
      while (uncommitted.length > 0 && Date.now() - started < drainMs) {
        await Promise.race([commits, sleep(Math.min(3_000, drainMs - (Date.now() - started)))])
        if (uncommitted.length > 0) await heartbeat().catch(() => undefined)
      }
      const done = uncommitted.length === 0
      logger.info(
        { event: 'rebalance_drained', batches: inFlight, committed: done, seconds: (Date.now() - started) / 1000 },
        done ? 'work in flight committed before rejoining the group' : 'rejoining with work in flight; its partitions may be replayed',
      )
    })().finally(() => {
      draining = null
    })
    return draining
  }

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const previous = current
    current = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })))
    const lost = previous.filter((p) => !current.some((c) => c.topic === p.topic && c.partition === p.partition))
    logger.info({ event: 'partitions_assigned', assigned: current, revoked: lost }, 'consumer group joined')
    if (lost.length > 0) options.onPartitionsRevoked?.(lost)
    options.onPartitionsAssigned?.(current)
  })

  const checkProgress = async (): Promise<void> => {
    if (!admin) return
    const offsets = await readOffsets(admin, options.groupId, current)
    watch.observe(offsets)
    const stuck = watch.stalls().filter((p) => p.seconds * 1000 >= stallMs)
    if (stuck.length > 0) {
      const oldest = uncommitted[0]
      const waiting = oldest && { stage: oldest.stage, seconds: (Date.now() - oldest.since) / 1000, offsets: oldest.offsets }
      logger.warn(
        { event: 'consumer_stalled', partitions: stuck, uncommittedBatches: uncommitted.length, oldest: waiting },
        'partitions with lag have not committed for longer than the stall limit',
      )
    }
  }

  /** The slice of the batch's progress that `part` (some of its records) covers. */
  const progressOf = (part: ConsumedRecord[], batch: Pending): PartitionProgress[] => {
    const last = new Map<string, bigint>()
    for (const r of batch.records) last.set(`${r.topic}:${r.partition}`, BigInt(r.offset))
    return batch.progress.flatMap((p) => {
      const mine = part.filter((r) => r.topic === p.topic && r.partition === p.partition)
      if (mine.length === 0) return []
      const reachesEnd = mine.some((r) => BigInt(r.offset) === last.get(`${r.topic}:${r.partition}`))
      const next = mine.reduce((max, r) => (BigInt(r.offset) + 1n > max ? BigInt(r.offset) + 1n : max), 0n)
      return [{ ...p, maxTimestamp: mine.reduce((max, r) => Math.max(max, r.timestamp), 0), caughtUp: p.caughtUp && reachesEnd, next }]
    })
  }

  const handle = async (batch: Pending): Promise<{ settled: Promise<void> }> => {
    if (!options.isolate) return { settled: settledOf([await options.handleBatch(batch.records, batch.progress)]) }
    const { results, rejected } = await handleIsolating(batch.records, {
      handle: (part) => options.handleBatch(part, part.length === batch.records.length ? batch.progress : progressOf(part, batch)),
      mayBeRecords: options.isolate.mayBeRecords,
      reject: options.isolate.reject,
    })
    if (rejected.length > 0)
      logger.warn(
        { event: 'records_isolated', records: rejected.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset })) },
        'records that made the batch fail were dead-lettered; the rest of the batch went on',
      )
    return { settled: settledOf(results) }
  }

  const flush = async (batch: Pending): Promise<void> => {
    if (batch.timer) clearTimeout(batch.timer)
    let delay = initialRetryMs
    let settled: Promise<void> = Promise.resolve()
    for (let attempt = 1; ; attempt++) {
      try {
        settled = (await handle(batch)).settled
        break
      } catch (error) {
        if (!failing) logger.warn({ event: 'consumer_paused', err: error, records: batch.records.length }, 'batch failed; consumption paused, retrying')
        failing = true
        if (stopping && attempt >= 3) throw error
        // Keep our group membership while we wait: a member that misses heartbeats is
        // kicked out, and its partitions would be replayed by another one.
        const until = Date.now() + delay
        while (Date.now() < until) {
          await Promise.all(
            batch.heartbeats.map((hb) =>
              Promise.resolve()
                .then(hb)
                .catch(() => undefined),
            ),
          )
          await sleep(Math.min(1_000, until - Date.now()))
        }
        delay = Math.min(maxRetryMs, delay * 2) * (0.8 + Math.random() * 0.4)
      }
    }
    if (failing) logger.info({ event: 'consumer_resumed' }, 'batch handled after retries; consumption resumed')
    failing = false
    // Only the offsets are kept until the commit, not the records.
    const offsets = nextOffsets(batch.progress)
    const tracked: InFlightBatch = { stage: 'settling', since: Date.now(), offsets, done: Promise.resolve() }
    tracked.done = commits
      .then(() => settled)
      .then(() => {
        tracked.stage = 'committing'
        return commit(offsets)
      })
      .finally(() => void uncommitted.splice(uncommitted.indexOf(tracked), 1))
    uncommitted.push(tracked)
    commits = tracked.done.catch(() => undefined)
    // Backpressure: with too much work unsettled, stop fetching until the oldest settles.
    while (uncommitted.length > maxUnsettled) await uncommitted[0]!.done
  }

  const commit = async (offsets: { topic: string; partition: number; offset: string }[]): Promise<void> => {
    // A batch read before a rebalance can settle after it. The broker accepts a commit from any
    // member of the current generation, so an offset of a partition now read elsewhere would
    // overwrite its new owner's later commits and move it back (the new owner replays it).
    const mine = offsets.filter((o) => current.some((c) => c.topic === o.topic && c.partition === o.partition))
    if (mine.length < offsets.length)
      logger.info(
        { event: 'commit_skipped_revoked', partitions: offsets.filter((o) => !mine.includes(o)) },
        'offsets of partitions assigned elsewhere since the batch was read are left to their new owner',
      )
    if (mine.length === 0) return
    try {
      await consumer.commitOffsets(mine)
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
      headers: textHeaders(m.headers),
    }))
    const done = new Promise<void>((resolve, reject) => {
      pending ??= { records: [], progress: [], waiters: [], heartbeats: [], timer: null }
      pending.records.push(...records)
      pending.progress.push({
        topic: batch.topic,
        partition: batch.partition,
        maxTimestamp: records.reduce((max, r) => Math.max(max, r.timestamp), 0),
        caughtUp: BigInt(batch.lastOffset()) + 1n >= BigInt(batch.highWatermark),
        // Kafka hands a partition's records in offset order.
        next: BigInt(records[records.length - 1]!.offset) + 1n,
      })
      pending.waiters.push({ resolve, reject })
      pending.heartbeats.push(heartbeat)
      if (pending.records.length >= maxBatchSize) startFlush()
      else pending.timer ??= setTimeout(startFlush, lingerMs)
    })
    await done
    // Moves kafkajs's fetch position past the batch (the commit itself was done by flush).
    resolveOffset(batch.lastOffset())
    // kafkajs heartbeats after each batch (at most every heartbeat interval) and rejoins as soon
    // as one finds a rebalance; finding it here first lets the work in flight be committed.
    try {
      await heartbeat()
    } catch (error) {
      if (isRebalancing(error) && uncommitted.length > 0) await drainBeforeRejoin(heartbeat)
      throw error
    }
  }

  return {
    async start() {
      if (started) return
      started = true
      admin = kafka.admin()
      await admin.connect()
      const check = (): void => {
        stallTimer = setTimeout(
          () => {
            checkProgress()
              .catch((error: unknown) =>
                logger.warn(
                  { event: 'progress_check_failed', err: error },
                  'could not compare committed offsets with the partitions; health turns red if this lasts',
                ),
              )
              .finally(() => {
                if (stallTimer) check()
              })
          },
          options.stallCheckMs ?? Math.min(10_000, stallMs / 4),
        )
      }
      check()
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
        if (stallTimer) clearTimeout(stallTimer)
        stallTimer = null
        await admin?.disconnect()
        logger.info({ event: 'consumer_stopped', group: options.groupId }, 'consumer stopped')
      })()
      return stopped
    },
    assignment: () => current,
    async partitionOffsets(partitions) {
      if (!admin) throw new Error('the consumer is not started')
      return readOffsets(admin, options.groupId, partitions)
    },
    async endOffsets() {
      if (!admin) throw new Error('the consumer is not started')
      const ends: { topic: string; partition: number; end: bigint }[] = []
      for (const topic of options.topics)
        for (const e of await admin.fetchTopicOffsets(topic)) ends.push({ topic, partition: e.partition, end: BigInt(e.high) })
      return ends
    },
    healthy: () => watch.healthy(),
    stalls: () => watch.stalls(),
  }
}

/** The group's committed offset and the low and high watermarks of each of `partitions` that exists. */
async function readOffsets(admin: Admin, groupId: string, partitions: { topic: string; partition: number }[]): Promise<PartitionOffsets[]> {
  const offsets: PartitionOffsets[] = []
  for (const topic of new Set(partitions.map((p) => p.topic))) {
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })])
    for (const { partition } of partitions.filter((p) => p.topic === topic)) {
      const end = ends.find((e) => e.partition === partition)
      if (!end) continue
      const at = committed?.partitions.find((c) => c.partition === partition)?.offset ?? '-1'
      offsets.push({ topic, partition, committed: BigInt(at), low: BigInt(end.low), high: BigInt(end.high) })
    }
  }
  return offsets
}

/** Per partition, the offset after its newest record in the batch (what to commit). */
function nextOffsets(progress: PartitionProgress[]): { topic: string; partition: number; offset: string }[] {
  const newest = new Map<string, PartitionProgress & { next: bigint }>()
  for (const p of progress) {
    if (p.next === undefined) throw new Error(`batch progress of ${p.topic}:${p.partition} has no offset`)
    const key = `${p.topic}:${p.partition}`
    const seen = newest.get(key)
    if (!seen || seen.next < p.next) newest.set(key, { ...p, next: p.next })
  }
  return [...newest.values()].map((p) => ({ topic: p.topic, partition: p.partition, offset: p.next.toString() }))
}
