import type { Admin, Kafka } from 'kafkajs'
import { createBatchConsumer } from '../../services/shared/kafka/batch-consumer.ts'
import { ensureTopics, topicNames, topicSpecs, type TopicNames } from '../../services/shared/kafka/topics.ts'
import type { Logger } from '../../services/shared/logging/logger.ts'

/** A fresh set of the service's topics under `prefix`. */
export async function createBenchTopics(kafka: Kafka, prefix: string, partitions: number): Promise<TopicNames> {
  const topics = topicNames(prefix)
  await ensureTopics(kafka, topicSpecs(topics, partitions))
  return topics
}

/**
 * How far a consumer group is: offsets committed and log-end offsets summed over the topics'
 * partitions. The monitor commits a batch only after its rows and window metrics are written,
 * so committed == end means everything produced is in ClickHouse.
 */
export class GroupProgress {
  private constructor(private readonly admin: Admin) {}

  static async open(kafka: Kafka): Promise<GroupProgress> {
    const admin = kafka.admin()
    await admin.connect()
    return new GroupProgress(admin)
  }

  async of(groupId: string, topics: string[]): Promise<{ committed: number; end: number }> {
    let committed = 0
    let end = 0
    for (const topic of topics) {
      const ends = await this.admin.fetchTopicOffsets(topic)
      const [offsets] = await this.admin.fetchOffsets({ groupId, topics: [topic] })
      for (const e of ends) {
        end += Number(e.high)
        const c = offsets?.partitions.find((p) => p.partition === e.partition)
        if (c && c.offset !== '-1') committed += Number(c.offset)
      }
    }
    return { committed, end }
  }

  /** Records in the topics (log-end offsets summed; the bench never deletes records). */
  async endOf(topics: string[]): Promise<number> {
    let end = 0
    for (const topic of topics) for (const e of await this.admin.fetchTopicOffsets(topic)) end += Number(e.high)
    return end
  }

  close(): Promise<void> {
    return this.admin.disconnect()
  }
}

/** Deletes topics and consumer groups the bench created; failures are reported, not thrown. */
export async function deleteKafkaObjects(kafka: Kafka, topics: string[], groups: string[]): Promise<string[]> {
  const problems: string[] = []
  const admin = kafka.admin()
  await admin.connect()
  try {
    // One at a time: kafkajs rejects the whole call when one group fails (e.g. never joined).
    for (const group of groups) {
      await admin.deleteGroups([group]).catch((e: Error & { groups?: { errorCode: number; error?: { type?: string } }[] }) => {
        const type = e.groups?.[0]?.error?.type
        if (type !== 'GROUP_ID_NOT_FOUND') problems.push(`group ${group}: ${type ?? e.message}`)
      })
    }
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 }).catch((e: Error) => problems.push(`topics: ${e.message}`))
  } finally {
    await admin.disconnect()
  }
  return problems
}

/**
 * Raw consumption: our batch consumer loop (services/shared/kafka/batch-consumer.ts: the same
 * fetch, batching and offset commits as the monitor) with a handler that only counts records.
 * Returns records/s from the moment the consumer joined until `expected` records arrived.
 */
export async function rawConsume(
  kafka: Kafka,
  o: { groupId: string; topics: string[]; expected: number; maxBatchSize: number; lingerMs: number; timeoutMs: number },
  logger: Logger,
): Promise<{ records: number; seconds: number; batches: number }> {
  let records = 0
  let batches = 0
  let done: () => void = () => undefined
  const finished = new Promise<void>((resolve) => (done = resolve))
  const consumer = createBatchConsumer(
    kafka,
    {
      groupId: o.groupId,
      topics: o.topics,
      maxBatchSize: o.maxBatchSize,
      lingerMs: o.lingerMs,
      handleBatch: async (batch) => {
        records += batch.length
        batches++
        if (records >= o.expected) done()
      },
    },
    logger,
  )
  await consumer.start()
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, o.timeoutMs)))])
    return { records, seconds: (performance.now() - started) / 1000, batches }
  } finally {
    clearTimeout(timer)
    await consumer.stop()
  }
}

export interface CatchUp {
  finished: boolean
  /** Nothing was committed for stallMs: the monitor is stuck (its log says why). */
  stalled: boolean
  /** From `since` to the poll that saw the group caught up (or to the timeout). */
  seconds: number
  committed: number
  /** Records committed over time (seconds since `since`), to see whether the rate holds. */
  samples: { t: number; committed: number }[]
}

/**
 * Polls until the group has committed `expected` records over the topics (the log-end offsets
 * reached it too), or the time is up. The poll interval bounds the measurement's resolution.
 */
export async function waitCaughtUp(
  progress: GroupProgress,
  o: { groupId: string; topics: string[]; expected: number; since: number; timeoutMs: number; stallMs?: number; intervalMs?: number; label?: string },
): Promise<CatchUp> {
  const samples: CatchUp['samples'] = []
  let lastLog = 0
  let lastCommitted = -1
  let movedAt = performance.now()
  for (;;) {
    const { committed, end } = await progress.of(o.groupId, o.topics)
    const t = (performance.now() - o.since) / 1000
    if (committed !== lastCommitted) {
      lastCommitted = committed
      movedAt = performance.now()
    }
    if (samples.length === 0 || t - samples[samples.length - 1]!.t >= 5) samples.push({ t: Math.round(t * 10) / 10, committed })
    if (o.label && t - lastLog >= 15) {
      lastLog = t
      console.log(`  ${o.label}: ${committed}/${o.expected} records after ${t.toFixed(0)} s (${Math.round(committed / Math.max(t, 0.001))}/s)`)
    }
    if (end >= o.expected && committed >= end) {
      samples.push({ t: Math.round(t * 10) / 10, committed })
      return { finished: true, stalled: false, seconds: t, committed, samples }
    }
    const stalled = performance.now() - movedAt > (o.stallMs ?? 300_000)
    if (stalled || t * 1000 > o.timeoutMs) return { finished: false, stalled, seconds: t, committed, samples }
    await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? 250))
  }
}
