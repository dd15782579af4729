import { Command, InvalidArgumentError, Option } from 'commander'
import type { Kafka } from 'kafkajs'
import { DecodeError } from '../shared/codec/decode-error.ts'
import type { EventCodec } from '../shared/codec/event-codec.ts'
import { parseDuration } from '../shared/config/duration.ts'
import { DLQ_HEADERS } from '../shared/kafka/dead-letter.ts'
import { scanTopic } from '../shared/kafka/read-topic.ts'
import type { ConsumedRecord } from '../shared/kafka/records.ts'
import { formatTable } from './table.ts'

// `driftgate dead-letters`: the records the monitor refused, read from the dead-letter topic
// with the headers services/shared/kafka/dead-letter.ts writes, for service owners and on-call
// who want to see what was rejected and why without writing a consumer.

export interface DeadLetterOptions {
  /** Only records dead-lettered at or after this time (ms). */
  since?: number
  model?: string
  code?: string
  /** The newest this many matching records are shown. */
  limit: number
  json?: boolean
  /** Time budget for reading the topic to its end. */
  timeoutMs: number
}

export interface DeadLetterRow {
  /** When the monitor rejected the record (the failed_at header; the record's timestamp without it). */
  failedAt: number
  sourceTopic: string
  sourcePartition: number | null
  sourceOffset: string
  /** Timestamp of the original record. */
  sourceTimestamp: number | null
  code: string
  step: string
  reason: string
  /** From the original value when it can be decoded (JSON, or Avro through the schema registry). */
  modelId: string | null
  key: Buffer | null
  value: Buffer | null
  /** The original record's own headers. */
  headers: Record<string, string>
  /** Where the dead letter itself is: partition and offset on the dead-letter topic. */
  partition: number
  offset: string
}

export type ModelIdReader = (value: Buffer | null, sourceTopic: string) => Promise<string | null>

export const DEFAULT_LIMIT = 50
export const VALUE_PREFIX_BYTES = 40

const SINCE_HINT = 'expected a duration (30m, 2h, 7d), a date (2025-11-28) or an ISO time with a zone (2025-11-28T10:00:00Z)'

/** `--since`: a duration back from `now`, a UTC date, or an ISO date-time with a zone. */
export function parseSince(text: string, now = Date.now()): number {
  const value = text.trim()
  if (/^\d+(?:\.\d+)?\s*(ms|s|m|h|d|w)$/.test(value)) return now - parseDuration(value)
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value)) {
    const ms = Date.parse(value)
    if (Number.isFinite(ms)) return ms
  }
  throw new InvalidArgumentError(`invalid time '${text}': ${SINCE_HINT}`)
}

/** `--limit`: a whole number of rows, at least 1. */
export function parseLimit(text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`invalid limit '${text}': expected a whole number >= 1`)
  return n
}

function parseTimeout(text: string): number {
  try {
    const ms = parseDuration(text)
    if (ms > 0) return ms
  } catch {
    // reported below
  }
  throw new InvalidArgumentError(`invalid timeout '${text}': expected a duration, e.g. 30s, 2m`)
}

/**
 * Text that is safe on a terminal: control characters (C0, DEL, C1) and backslashes are
 * escaped, everything else printable is kept. Reasons and model ids quote what producers sent.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\\\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\\') return '\\\\'
    if (c === '\n') return '\\n'
    if (c === '\r') return '\\r'
    if (c === '\t') return '\\t'
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
  })
}

/**
 * The first `maxBytes` bytes of a value, byte by byte: printable ASCII as is, \n \r \t and \\
 * escaped, every other byte as \xNN (an Avro frame starts \x00 and the schema id), then … when
 * the value is longer.
 */
export function valuePrefix(value: Buffer | null, maxBytes = VALUE_PREFIX_BYTES): string {
  if (!value) return ''
  let out = ''
  for (const byte of value.subarray(0, maxBytes)) {
    if (byte === 0x5c) out += '\\\\'
    else if (byte === 0x0a) out += '\\n'
    else if (byte === 0x0d) out += '\\r'
    else if (byte === 0x09) out += '\\t'
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte)
    else out += `\\x${byte.toString(16).padStart(2, '0')}`
  }
  return value.length > maxBytes ? `${out}…` : out
}

const int = (text: string | undefined): number | null => (text !== undefined && /^-?\d+$/.test(text) ? Number(text) : null)

/** A dead-letter record as a row, from the headers the dead-letter writer sets. */
export function deadLetterRow(record: ConsumedRecord, modelId: string | null): DeadLetterRow {
  const h = record.headers
  const dlq = new Set<string>(Object.values(DLQ_HEADERS))
  return {
    failedAt: int(h[DLQ_HEADERS.failedAt]) ?? record.timestamp,
    sourceTopic: h[DLQ_HEADERS.topic] ?? '',
    sourcePartition: int(h[DLQ_HEADERS.partition]),
    sourceOffset: h[DLQ_HEADERS.offset] ?? '',
    sourceTimestamp: int(h[DLQ_HEADERS.timestamp]),
    code: h[DLQ_HEADERS.code] ?? '',
    step: h[DLQ_HEADERS.step] ?? '',
    reason: h[DLQ_HEADERS.reason] ?? '',
    modelId,
    key: record.key,
    value: record.value,
    headers: Object.fromEntries(Object.entries(h).filter(([k]) => !dlq.has(k))),
    partition: record.partition,
    offset: record.offset,
  }
}

export function matches(row: DeadLetterRow, o: Pick<DeadLetterOptions, 'since' | 'model' | 'code'>): boolean {
  return (
    (o.since === undefined || row.failedAt >= o.since) && (o.model === undefined || row.modelId === o.model) && (o.code === undefined || row.code === o.code)
  )
}

/** Oldest first: by rejection time, then by position on the dead-letter topic. */
export function compareRows(a: DeadLetterRow, b: DeadLetterRow): number {
  return a.failedAt - b.failedAt || a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : BigInt(a.offset) > BigInt(b.offset) ? 1 : 0)
}

/** Keeps the newest `limit` rows of a stream without holding all of it. */
export class NewestRows {
  private rows: DeadLetterRow[] = []
  seen = 0

  constructor(private readonly limit: number) {}

  add(row: DeadLetterRow): void {
    this.seen++
    this.rows.push(row)
    if (this.rows.length >= 2 * this.limit + 1000) this.trim()
  }

  /** The newest rows, oldest first. */
  newest(): DeadLetterRow[] {
    this.trim()
    return this.rows
  }

  private trim(): void {
    this.rows.sort(compareRows)
    if (this.rows.length > this.limit) this.rows = this.rows.slice(-this.limit)
  }
}

/**
 * model_id from an original value: a JSON object's field (or, for JSON too broken to parse, the
 * field as written), an Avro record decoded with its writer schema from the registry. Null when
 * it cannot be told; a schema id the registry cannot give is not asked for again.
 */
export function modelIdReader(codec: EventCodec | null, labelsTopic: string): ModelIdReader {
  const unavailable = new Set<number>()
  return async (value, sourceTopic) => {
    if (!value || value.length === 0) return null
    if (value[0] === 0x7b) {
      const text = value.toString('utf8')
      try {
        const parsed = JSON.parse(text) as { model_id?: unknown }
        return typeof parsed.model_id === 'string' ? parsed.model_id : null
      } catch {
        return /"model_id"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text)?.[1] ?? null
      }
    }
    if (value[0] === 0 && value.length >= 5 && codec) {
      const schemaId = value.readInt32BE(1)
      if (unavailable.has(schemaId)) return null
      try {
        const { event } = await codec.decode(value, sourceTopic === labelsTopic ? 'LabelEvent' : 'PredictionEvent')
        return typeof event.model_id === 'string' ? event.model_id : null
      } catch (error) {
        // A malformed payload is that record's problem; an unknown schema or an unreachable
        // registry would fail the same way for every record of the schema.
        if (!(error instanceof DecodeError) || error.code === 'unknown_schema_id' || error.code === 'incompatible_schema') unavailable.add(schemaId)
        return null
      }
    }
    return null
  }
}

export interface DeadLetterList {
  /** The newest matching rows, oldest first. */
  rows: DeadLetterRow[]
  /** Records that matched the filters. */
  matched: number
  /** Records read from the topic. */
  read: number
  /** The whole topic (from --since) was read up to its end at the start. */
  complete: boolean
}

/** Reads the dead-letter topic to its end (from `since`) and keeps the newest matching rows. */
export async function listDeadLetters(kafka: Kafka, topic: string, o: DeadLetterOptions, modelIdOf: ModelIdReader): Promise<DeadLetterList> {
  const kept = new NewestRows(o.limit)
  const scan = await scanTopic(kafka, topic, {
    toEnd: true,
    fromTimestamp: o.since,
    timeoutMs: o.timeoutMs,
    onRecord: async (record) => {
      // Cheap filters first: the value is decoded only for records that can still match.
      const row = deadLetterRow(record, null)
      if (!matches(row, { since: o.since, code: o.code })) return
      row.modelId = await modelIdOf(record.value, row.sourceTopic)
      if (matches(row, o)) kept.add(row)
    },
  })
  return { rows: kept.newest(), matched: kept.seen, read: scan.read, complete: scan.reachedEnd }
}

const time = (ms: number): string => (Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '')

/** The table's cells: terminal-safe text, the source as topic/partition/offset. */
export function tableRow(row: DeadLetterRow): Record<string, string> {
  return {
    time: time(row.failedAt),
    source: printable(`${row.sourceTopic}/${row.sourcePartition ?? '?'}/${row.sourceOffset}`),
    code: printable(row.code),
    step: printable(row.step),
    model_id: printable(row.modelId ?? ''),
    reason: printable(row.reason),
    value: valuePrefix(row.value),
  }
}

/** One object per row for --json: the whole reason and the original value (base64) included. */
export function jsonRow(row: DeadLetterRow): Record<string, unknown> {
  return {
    failed_at: time(row.failedAt),
    source_topic: row.sourceTopic,
    source_partition: row.sourcePartition,
    source_offset: row.sourceOffset,
    source_timestamp: row.sourceTimestamp === null ? null : time(row.sourceTimestamp),
    code: row.code,
    step: row.step,
    reason: row.reason,
    model_id: row.modelId,
    key: row.key === null ? null : row.key.toString('utf8'),
    headers: row.headers,
    value_prefix: valuePrefix(row.value),
    value_base64: row.value === null ? null : row.value.toString('base64'),
    dead_letter: { partition: row.partition, offset: row.offset },
  }
}

/** What the command prints on stdout. */
export function formatDeadLetters(list: DeadLetterList, o: Pick<DeadLetterOptions, 'json' | 'limit'>, topic: string): string {
  if (o.json) return JSON.stringify(list.rows.map(jsonRow), null, 2)
  const shown = list.rows.length
  const note =
    list.matched > shown
      ? `newest ${shown} of ${list.matched} matching dead letters (oldest first; --limit shows more), ${list.read} read from ${topic}`
      : `${shown} matching dead letter${shown === 1 ? '' : 's'}, ${list.read} read from ${topic}`
  return `${formatTable(list.rows.map(tableRow), 90)}\n${note}`
}

/** The command's definition; `run` gets the parsed options. */
export function deadLettersCommand(run: (options: DeadLetterOptions) => Promise<void>): Command {
  return new Command('dead-letters')
    .description('records the monitor rejected (dead-letter topic): when, where from, why; newest last')
    .option('--since <time>', `only records rejected since then: ${SINCE_HINT.replace('expected ', '')}`, (text: string) => parseSince(text))
    .option('--model <id>', 'only records of this model_id (read from the original value)')
    .option('--code <code>', 'only this reason code (e.g. unknown_model, malformed_json)')
    .option('--limit <n>', 'show the newest n matching records', parseLimit, DEFAULT_LIMIT)
    .option('--json', 'print JSON: every field, the whole reason and the original value in base64')
    .addOption(new Option('--timeout <duration>', 'give up reading the topic after this long').argParser(parseTimeout).default(60_000, '60s'))
    .action(async (opts: { since?: number; model?: string; code?: string; limit: number; json?: boolean; timeout: number }) => {
      await run({ since: opts.since, model: opts.model, code: opts.code, limit: opts.limit, json: opts.json, timeoutMs: opts.timeout })
    })
}
