import type { Kafka } from 'kafkajs'
import { textHeaders, type ConsumedRecord } from './records.ts'

export interface ReadTopicOptions {
  /** Stop once this many records were read. */
  count?: number
  /**
   * Stop as soon as every partition was read up to the end offset (high watermark) it had when
   * the read started: what the topic held then, without waiting for records produced later
   * (those are not returned). Without it the read lasts until `count` records or the time is up.
   */
  toEnd?: boolean
  /** Start each partition at its first record stamped at or after this time (ms) instead of the beginning. */
  fromTimestamp?: number
  /** How long to wait for records once the consumer runs; what was read by then is returned. */
  timeoutMs: number
  /**
   * Hands each record over as it is read instead of collecting it (`records` stays empty), for
   * reads too large to hold at once.
   */
  onRecord?(record: ConsumedRecord): void | Promise<void>
  groupId?: string
}

export interface TopicRead {
  /** The records read (empty when `onRecord` took them). */
  records: ConsumedRecord[]
  /** Records read (collected or handed over). */
  read: number
  /** Every partition was read up to the end offset it had when the read started. */
  reachedEnd: boolean
}

/**
 * Reads a topic from the beginning (or from a time) with a throwaway consumer group, for the
 * CLI, tests and the main job's report; the services use the batch consumer.
 */
export async function scanTopic(kafka: Kafka, topic: string, options: ReadTopicOptions): Promise<TopicRead> {
  const admin = kafka.admin()
  await admin.connect()
  let ends: Map<number, bigint>
  let starts: Map<number, bigint>
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    ends = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]))
    starts = new Map(offsets.map((p) => [p.partition, BigInt(p.low)]))
    if (options.fromTimestamp !== undefined) {
      for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, options.fromTimestamp)) {
        if (BigInt(p.offset) > starts.get(p.partition)!) starts.set(p.partition, BigInt(p.offset))
      }
    }
  } finally {
    await admin.disconnect()
  }
  // Next offset to read per partition; a partition is at its end once that reaches the end offset.
  const next = new Map(starts)
  const atEnd = (): boolean => [...ends].every(([partition, end]) => next.get(partition)! >= end)

  const records: ConsumedRecord[] = []
  let read = 0
  const enough = (): boolean => (options.toEnd === true && atEnd()) || (options.count !== undefined && read >= options.count)
  if (enough()) return { records, read, reachedEnd: atEnd() }

  const consumer = kafka.consumer({
    groupId: options.groupId ?? `driftgate-reader-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    maxWaitTimeInMs: 100,
  })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    let done: () => void = () => undefined
    const finished = new Promise<void>((resolve) => (done = resolve))
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        const offset = BigInt(message.offset)
        const start = starts.get(partition) ?? 0n
        const end = ends.get(partition)
        if (offset + 1n > (next.get(partition) ?? 0n)) next.set(partition, offset + 1n)
        // Before the start time (the seek below may come after the first fetch), or after the
        // end captured at the start when reading to the end.
        const wanted = offset >= start && !(options.toEnd && (end === undefined || offset >= end))
        if (wanted) {
          const record: ConsumedRecord = {
            topic: t,
            partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            timestamp: Number(message.timestamp),
            headers: textHeaders(message.headers),
          }
          read++
          if (options.onRecord) await options.onRecord(record)
          else records.push(record)
        }
        if (enough()) done()
      },
    })
    for (const [partition, start] of starts) {
      if (options.fromTimestamp !== undefined && start < ends.get(partition)!) consumer.seek({ topic, partition, offset: String(start) })
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(resolve, options.timeoutMs)))])
    clearTimeout(timer)
  } finally {
    await consumer.disconnect()
  }
  return { records, read, reachedEnd: atEnd() }
}

/**
 * The records of a topic from the beginning: until `count` records arrived, the end of every
 * partition as it was at the start (`toEnd`), or the time is up.
 */
export async function readTopic(kafka: Kafka, topic: string, options: ReadTopicOptions): Promise<ConsumedRecord[]> {
  return (await scanTopic(kafka, topic, options)).records
}
