import { createHash } from 'node:crypto'
import { chunkBySize } from '../collections/chunk-by-size.ts'
import { isInfrastructureError } from '../errors/infrastructure-error.ts'
import type { ConsumedRecord, OutgoingRecord } from './records.ts'
import type { RecordProducer } from './producer.ts'

export interface DeadLetter {
  record: ConsumedRecord
  /** Stable machine-readable reason, e.g. invalid_event, unknown_model. */
  code: string
  /** What is wrong, for the service owner who sent it. */
  reason: string
  /** Pipeline step that rejected it (decode, validate, process). */
  step: string
}

/** Header names on dead-letter records; the value and key are the original bytes (see DLQ_LIMITS). */
export const DLQ_HEADERS = {
  code: 'driftgate.dlq.code',
  reason: 'driftgate.dlq.reason',
  step: 'driftgate.dlq.step',
  topic: 'driftgate.dlq.source_topic',
  partition: 'driftgate.dlq.source_partition',
  offset: 'driftgate.dlq.source_offset',
  timestamp: 'driftgate.dlq.source_timestamp',
  failedAt: 'driftgate.dlq.failed_at',
  /** Set when the value (or key) was cut: the original length in bytes and its sha256 (hex). */
  originalLength: 'driftgate.dlq.original_value_length',
  originalSha256: 'driftgate.dlq.original_value_sha256',
  originalKeyLength: 'driftgate.dlq.original_key_length',
} as const

/**
 * Sizes that keep every dead letter under a broker's default 1 MB message limit, whatever the
 * record: the reason is capped, a value above `maxValueBytes` keeps only its first `keptBytes`
 * (with its length and sha256 in headers), keys and the original headers are capped, and
 * letters are sent in produce requests of at most `maxRequestBytes`.
 */
export const DLQ_LIMITS = {
  reasonChars: 1_000,
  maxValueBytes: 512 * 1024,
  keptBytes: 64 * 1024,
  keyBytes: 1_024,
  headerBytes: 16 * 1024,
  maxRequestBytes: 512 * 1024,
}

/** The reason cut to `max` characters, saying how much was cut. */
export function capReason(reason: string, max = DLQ_LIMITS.reasonChars): string {
  if (reason.length <= max) return reason
  // Room for the tail with a count as long as the whole length: the result never exceeds max.
  const kept = max - ' … ( more characters)'.length - String(reason.length).length
  return `${reason.slice(0, kept)} … (${reason.length - kept} more characters)`
}

function letterRecord({ record, code, reason, step }: DeadLetter, now: number): OutgoingRecord {
  const value = record.value ?? Buffer.alloc(0)
  const cut: Record<string, string> = {}
  let keptValue = value
  if (value.length > DLQ_LIMITS.maxValueBytes) {
    keptValue = value.subarray(0, DLQ_LIMITS.keptBytes)
    cut[DLQ_HEADERS.originalLength] = String(value.length)
    cut[DLQ_HEADERS.originalSha256] = createHash('sha256').update(value).digest('hex')
  }
  let key = record.key
  if (key && key.length > DLQ_LIMITS.keyBytes) {
    cut[DLQ_HEADERS.originalKeyLength] = String(key.length)
    key = key.subarray(0, DLQ_LIMITS.keyBytes)
  }
  const original = Object.entries(record.headers)
  const originalBytes = original.reduce((n, [k, v]) => n + k.length + v.length, 0)
  return {
    key,
    value: keptValue,
    headers: {
      ...(originalBytes <= DLQ_LIMITS.headerBytes ? record.headers : {}),
      ...cut,
      [DLQ_HEADERS.code]: code,
      [DLQ_HEADERS.reason]: capReason(reason),
      [DLQ_HEADERS.step]: step,
      [DLQ_HEADERS.topic]: record.topic,
      [DLQ_HEADERS.partition]: String(record.partition),
      [DLQ_HEADERS.offset]: record.offset,
      [DLQ_HEADERS.timestamp]: String(record.timestamp),
      [DLQ_HEADERS.failedAt]: String(now),
    },
  }
}

/** Bytes a letter takes in a produce request (headers included, with some per-record overhead). */
export const letterBytes = (r: OutgoingRecord): number =>
  (r.key?.length ?? 0) + r.value.length + Object.entries(r.headers ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0) + 64

/**
 * Writes rejected records to the dead-letter topic with their reason and origin in headers.
 * A letter the broker refuses for what it is (not for being unreachable) is returned in
 * `unsent` for the caller to count and log; the caller still commits its offset, so one
 * record can never stop a partition. Infrastructure failures are thrown (the batch is retried).
 */
export async function sendDeadLetters(
  producer: RecordProducer,
  topic: string,
  letters: DeadLetter[],
  now = Date.now(),
): Promise<{ unsent: { letter: DeadLetter; error: string }[] }> {
  const records = letters.map((l) => letterRecord(l, now))
  const unsent: { letter: DeadLetter; error: string }[] = []
  let at = 0
  for (const chunk of chunkBySize(records, letterBytes, DLQ_LIMITS.maxRequestBytes)) {
    const from = at
    at += chunk.length
    try {
      await producer.send(topic, chunk)
    } catch (error) {
      if (isInfrastructureError(error)) throw error
      // One at a time, so that only the letters the broker refuses stay unsent.
      for (const [i, record] of chunk.entries()) {
        try {
          await producer.send(topic, [record])
        } catch (single) {
          if (isInfrastructureError(single)) throw single
          unsent.push({ letter: letters[from + i]!, error: single instanceof Error ? single.message : String(single) })
        }
      }
    }
  }
  return { unsent }
}
