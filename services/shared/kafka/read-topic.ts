import type { Kafka } from 'kafkajs'
import type { ConsumedRecord } from './records.ts'

/**
 * Reads a topic from the beginning until `count` records arrived or the time is up (for the
 * CLI, tests and the main job's report; the services use the batch consumer).
 */
export async function readTopic(kafka: Kafka, topic: string, options: { count: number; timeoutMs: number; groupId?: string }): Promise<ConsumedRecord[]> {
  const consumer = kafka.consumer({ groupId: options.groupId ?? `driftgate-reader-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 100 })
  const records: ConsumedRecord[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    let done: () => void = () => undefined
    const finished = new Promise<void>((resolve) => (done = resolve))
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        records.push({
          topic: t,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          timestamp: Number(message.timestamp),
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)])),
        })
        if (records.length >= options.count) done()
      },
    })
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, options.timeoutMs))])
  } finally {
    await consumer.disconnect()
  }
  return records
}
