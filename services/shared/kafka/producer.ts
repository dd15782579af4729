import { CompressionTypes, type Kafka, type Producer } from 'kafkajs'
import type { OutgoingRecord } from './records.ts'

export interface RecordProducer {
  /** Resolves once every record is acknowledged by all in-sync replicas. */
  send(topic: string, records: OutgoingRecord[]): Promise<void>
  close(): Promise<void>
}

/** Codecs the producer can compress with (consumers read all of them, see codecs.ts). */
export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

const COMPRESSION: Record<Compression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

export async function createProducer(kafka: Kafka, options: { compression?: Compression } = {}): Promise<RecordProducer> {
  const compression = COMPRESSION[options.compression ?? 'none']
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  return {
    async send(topic, records) {
      if (records.length === 0) return
      await producer.send({
        topic,
        acks: -1,
        compression,
        messages: records.map((r) => ({
          key: r.key,
          value: r.value,
          headers: r.headers,
          timestamp: r.timestamp === undefined ? undefined : String(r.timestamp),
        })),
      })
    },
    close: () => producer.disconnect(),
  }
}
