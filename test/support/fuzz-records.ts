import { DecodeError } from '../../services/shared/codec/decode-error.ts'
import type { EventCodec } from '../../services/shared/codec/event-codec.ts'
import type { ConsumedRecord } from '../../services/shared/kafka/records.ts'
import { labelRow, type LabelRow, type PredictionSource } from '../../services/monitor/core/ingest/event-rows.ts'
import { predictionRow } from './prediction-rows.ts'
import { validateLabel, validatePrediction } from '../../services/monitor/core/ingest/validate-event.ts'
import type { RuntimeModel } from '../../services/monitor/core/runtime-model.ts'

// Mutated records for fuzzing the consumer's decode, validate and row path (seeded, so a failure
// is reproducible), and that path itself as the monitor runs it.

const NASTY_STRINGS = ['\ud800', '\udfff', 'a\udc00b', '\u0000', '\ud83d\ude00', 'x'.repeat(1_025), '', '\\', '"', "'; DROP TABLE x; --", '\u202e']
const NASTY_NUMBERS = [
  '-1',
  '1e308',
  '-1e308',
  '9007199254740993',
  '8640000000000001',
  '4102444800000',
  '1.5',
  '-0',
  '1e999',
  '0x10',
  'null',
  'true',
  '[]',
  '{}',
]
const VARINTS = ['00', '01', '7f', '8001', 'ffffffffffffffffff01', '808080808040', 'ffffffff0f', '80808080808080808001']

/** One mutation of a seed: bytes, lengths, counts, strings, numbers, nesting. */
export function mutate(rand: () => number, seed: Buffer, isJson: boolean, schemaIds: number[]): Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!
  let b = Buffer.from(seed)
  const rounds = 1 + Math.floor(rand() * 3)
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rand() * Math.max(1, b.length))
    const kind = Math.floor(rand() * (isJson ? 9 : 6))
    if (kind === 0) b[at] = Math.floor(rand() * 256)
    else if (kind === 1) b = b.subarray(0, at)
    else if (kind === 2) b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), b.subarray(at)])
    else if (kind === 3) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + Math.floor(rand() * 8)))])
    else if (kind === 4)
      b = Buffer.concat([b.subarray(0, Math.max(at, isJson ? 0 : 5)), Buffer.from(pick(VARINTS), 'hex'), b.subarray(Math.max(at, isJson ? 0 : 5) + 1)])
    else if (kind === 5) b = Buffer.concat([b, Buffer.from(Array.from({ length: Math.floor(rand() * 16) }, () => Math.floor(rand() * 256)))])
    else {
      // JSON: replace a string or a number with a nasty one, or nest the whole object.
      const text = b.toString('utf8')
      if (kind === 6) {
        const strings = [...text.matchAll(/"[^"\\]*"/g)]
        const m = strings.length ? pick(strings) : null
        if (m) b = Buffer.from(text.slice(0, m.index) + JSON.stringify(pick(NASTY_STRINGS)).replace(/\\\\u/g, '\\u') + text.slice(m.index + m[0].length))
      } else if (kind === 7) {
        const numbers = [...text.matchAll(/-?\d+(\.\d+)?(e-?\d+)?/g)]
        const m = numbers.length ? pick(numbers) : null
        if (m) b = Buffer.from(text.slice(0, m.index) + pick(NASTY_NUMBERS) + text.slice(m.index + m[0].length))
      } else {
        b = Buffer.from(`{"x":${'['.repeat(Math.floor(rand() * 2_000))}${text}`)
      }
    }
  }
  // Now and then another writer schema id (known, or not) in an Avro frame.
  if (!isJson && b.length >= 5 && rand() < 0.02) b.writeInt32BE(pick([...schemaIds, 424_242]), 1)
  return b
}

/** What the consumer stores for an accepted record: the row as JSON, and what it is written from. */
export type Consumed =
  { topic: 'predictions'; row: Record<string, unknown>; source: PredictionSource } | { topic: 'labels'; row: Record<string, unknown>; source: LabelRow }

/** The consumer's path for one record: decode, validate, row. Returns the row, or null when rejected. */
export async function consume(
  codec: EventCodec,
  models: Map<string, RuntimeModel>,
  topic: 'predictions' | 'labels',
  value: Buffer,
  timestamp: number,
  offset = 7,
): Promise<Consumed | null> {
  const record: ConsumedRecord = { topic, partition: 0, offset: String(offset), key: null, value, timestamp, headers: {} }
  try {
    if (topic === 'predictions') {
      const { event } = await codec.decodePrediction(value)
      const model = models.get(event.model_id)
      if (validatePrediction(event, model, timestamp)) return null
      return { topic, row: { ...predictionRow(event, model!, record, timestamp) }, source: { event, model: model!, record, ingestedAt: timestamp } }
    }
    const { event } = await codec.decodeLabel(value)
    if (validateLabel(event, models.get(event.model_id), timestamp)) return null
    const row = labelRow(event, record, timestamp)
    return { topic, row: { ...row }, source: row }
  } catch (error) {
    if (error instanceof DecodeError) return null
    throw error
  }
}
