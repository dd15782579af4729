import type { ConsumedRecord } from './records.ts'
import type { RecordProducer } from './producer.ts'

export interface DeadLetter {
  record: ConsumedRecord
  /** Stable machine-readable reason, e.g. invalid_event, unknown_model. */
  code: string
  /** What is wrong, for the service owner who sent it. */
  reason: string
  /** Pipeline step that rejected it (decode, validate). */
  step: string
}

/** Header names on dead-letter records; the value and key are the original bytes. */
export const DLQ_HEADERS = {
  code: 'driftgate.dlq.code',
  reason: 'driftgate.dlq.reason',
  step: 'driftgate.dlq.step',
  topic: 'driftgate.dlq.source_topic',
  partition: 'driftgate.dlq.source_partition',
  offset: 'driftgate.dlq.source_offset',
  timestamp: 'driftgate.dlq.source_timestamp',
  failedAt: 'driftgate.dlq.failed_at',
} as const

/** Writes rejected records to the dead-letter topic, keeping the original key, value and headers. */
export async function sendDeadLetters(producer: RecordProducer, topic: string, letters: DeadLetter[], now = Date.now()): Promise<void> {
  await producer.send(
    topic,
    letters.map(({ record, code, reason, step }) => ({
      key: record.key,
      value: record.value ?? Buffer.alloc(0),
      headers: {
        ...record.headers,
        [DLQ_HEADERS.code]: code,
        [DLQ_HEADERS.reason]: reason,
        [DLQ_HEADERS.step]: step,
        [DLQ_HEADERS.topic]: record.topic,
        [DLQ_HEADERS.partition]: String(record.partition),
        [DLQ_HEADERS.offset]: record.offset,
        [DLQ_HEADERS.timestamp]: String(record.timestamp),
        [DLQ_HEADERS.failedAt]: String(now),
      },
    })),
  )
}
