import { CompressionTypes, type Kafka, type Producer } from 'kafkajs'
import type { OutgoingRecord } from './records.ts'

export interface RecordProducer {
  /** Resolves once every record is acknowledged by all in-sync replicas. */
  send(topic: string, records: OutgoingRecord[]): Promise<void>
  close(): Promise<void>
}

export async function createProducer(kafka: Kafka): Promise<RecordProducer> {
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  return {
    async send(topic, records) {
      if (records.length === 0) return
      await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp === undefined ? undefined : String(r.timestamp) })),
      })
    },
    close: () => producer.disconnect(),
  }
}
