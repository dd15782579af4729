import type { Kafka } from 'kafkajs'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import type { OutgoingRecord } from '../../services/shared/kafka/records.ts'

export interface ProduceResult {
  records: number
  bytes: number
  seconds: number
}

/**
 * Produces records 0..count-1 (made by `make`, in order) to one topic through our producer
 * wrapper (idempotent, acks from all replicas). Several producers send chunks concurrently so
 * that encoding in this process overlaps with the broker's work; each chunk is sent in order.
 */
export async function produceAll(
  kafka: Kafka,
  topic: string,
  count: number,
  make: (k: number) => Promise<OutgoingRecord> | OutgoingRecord,
  options: { chunk?: number; producers?: number; onProgress?(done: number): void } = {},
): Promise<ProduceResult> {
  const chunk = options.chunk ?? 5_000
  const producers = await Promise.all(Array.from({ length: options.producers ?? 3 }, () => createProducer(kafka)))
  const started = performance.now()
  let next = 0
  let done = 0
  let bytes = 0
  try {
    await Promise.all(
      producers.map(async (producer) => {
        while (next < count) {
          const from = next
          const to = Math.min(count, from + chunk)
          next = to
          const records: OutgoingRecord[] = []
          for (let k = from; k < to; k++) {
            const record = await make(k)
            bytes += record.value.length
            records.push(record)
          }
          await producer.send(topic, records)
          done += records.length
          options.onProgress?.(done)
        }
      }),
    )
  } finally {
    await Promise.all(producers.map((p) => p.close()))
  }
  return { records: count, bytes, seconds: (performance.now() - started) / 1000 }
}
