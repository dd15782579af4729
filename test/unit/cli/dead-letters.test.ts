import { CommanderError } from 'commander'
import { describe, expect, it } from 'vitest'
import {
  deadLetterRow,
  deadLettersCommand,
  formatDeadLetters,
  matches,
  modelIdReader,
  NewestRows,
  parseLimit,
  parseSince,
  printable,
  valuePrefix,
  type DeadLetterOptions,
  type DeadLetterRow,
} from '../../../services/cli/dead-letters.ts'
import { DecodeError } from '../../../services/shared/codec/decode-error.ts'
import type { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import { sendDeadLetters } from '../../../services/shared/kafka/dead-letter.ts'
import type { RecordProducer } from '../../../services/shared/kafka/producer.ts'
import type { ConsumedRecord, OutgoingRecord } from '../../../services/shared/kafka/records.ts'

const NOW = Date.UTC(2025, 10, 28, 12, 0, 0)

/** Runs the command's option parsing alone; the options `run` would get, or the error commander reports. */
async function parse(args: string[]): Promise<DeadLetterOptions> {
  let got: DeadLetterOptions | undefined
  const command = deadLettersCommand(async (o) => void (got = o))
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
  await command.parseAsync(args, { from: 'user' })
  return got!
}

/** What the dead-letter writer puts on the topic, read back as a consumer sees it. */
async function written(letters: Parameters<typeof sendDeadLetters>[2], now: number): Promise<ConsumedRecord[]> {
  const out: OutgoingRecord[] = []
  const producer: RecordProducer = { send: async (_topic, records) => void out.push(...records), close: async () => undefined }
  await sendDeadLetters(producer, 'dead-letter', letters, now)
  return out.map((r, i) => ({
    topic: 'dead-letter',
    partition: 0,
    offset: String(100 + i),
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value,
    timestamp: now + 5,
    headers: r.headers ?? {},
  }))
}

const original = (value: string | Buffer, over: Partial<ConsumedRecord> = {}): ConsumedRecord => ({
  topic: 'predictions',
  partition: 3,
  offset: '1042',
  key: Buffer.from('p-1'),
  value: Buffer.isBuffer(value) ? value : Buffer.from(value),
  timestamp: NOW - 60_000,
  headers: { traceparent: '00-abc-01' },
  ...over,
})

const row = (failedAt: number, over: Partial<DeadLetterRow> = {}): DeadLetterRow => ({
  failedAt,
  sourceTopic: 'predictions',
  sourcePartition: 0,
  sourceOffset: '1',
  sourceTimestamp: failedAt - 1000,
  code: 'unknown_model',
  step: 'validate',
  reason: 'r',
  modelId: 'm',
  key: null,
  value: Buffer.from('{}'),
  headers: {},
  partition: 0,
  offset: String(failedAt),
  ...over,
})

describe('dead-letters options', () => {
  it('defaults: everything from the beginning, newest 50, 60 s to read the topic, a table', async () => {
    expect(await parse([])).toEqual({ since: undefined, model: undefined, code: undefined, limit: 50, json: undefined, timeoutMs: 60_000 })
  })

  it('passes the filters, limit, --json and --timeout on', async () => {
    const o = await parse(['--model', 'credit-default', '--code', 'unknown_class', '--limit', '7', '--json', '--timeout', '2m', '--since', '2025-11-28'])
    expect(o).toEqual({ since: Date.UTC(2025, 10, 28), model: 'credit-default', code: 'unknown_class', limit: 7, json: true, timeoutMs: 120_000 })
  })

  it('--since as a duration counts back from now', async () => {
    const before = Date.now()
    const o = await parse(['--since', '90m'])
    expect(o.since).toBeGreaterThanOrEqual(before - 90 * 60_000)
    expect(o.since).toBeLessThanOrEqual(Date.now() - 90 * 60_000)
  })

  it.each([['--limit', '0'], ['--limit', 'ten'], ['--since', 'yesterday'], ['--timeout', '0s'], ['--bogus']])('refuses %s %s', async (...args) => {
    await expect(parse(args.filter(Boolean))).rejects.toBeInstanceOf(CommanderError)
  })

  it.each([
    ['30s', NOW - 30_000],
    ['2h', NOW - 2 * 3_600_000],
    ['1.5h', NOW - 5_400_000],
    ['7d', NOW - 7 * 86_400_000],
    ['2025-11-01', Date.UTC(2025, 10, 1)],
    ['2025-11-28T10:00:00Z', Date.UTC(2025, 10, 28, 10)],
    ['2025-11-28T10:00Z', Date.UTC(2025, 10, 28, 10)],
    ['2025-11-28T10:00:00.250+02:00', Date.UTC(2025, 10, 28, 8, 0, 0, 250)],
  ])('parseSince(%s)', (text, ms) => expect(parseSince(text, NOW)).toBe(ms))

  it.each(['', 'yesterday', '-5m', '5 minutes', '2025-11-28T10:00:00', '2025-13-45', '1700000000000'])(
    'parseSince refuses %j, saying what it expects',
    (text) => {
      expect(() => parseSince(text, NOW)).toThrow(/expected a duration \(30m, 2h, 7d\), a date \(2025-11-28\) or an ISO time with a zone/)
    },
  )

  it.each([
    ['1', 1],
    ['50', 50],
    [' 200 ', 200],
  ])('parseLimit(%j)', (text, n) => expect(parseLimit(text)).toBe(n))

  it.each(['0', '-3', '2.5', '1e3', 'abc', ''])('parseLimit refuses %j', (text) => expect(() => parseLimit(text)).toThrow(/whole number >= 1/))
})

describe('dead-letter rows', () => {
  it('reads back every header the dead-letter writer sets, and keeps the original key, value and headers apart', async () => {
    const [record] = await written(
      [{ record: original('{"model_id":"ghost"}'), code: 'unknown_model', reason: "model_id 'ghost' is not configured in driftgate", step: 'validate' }],
      NOW,
    )
    const r = deadLetterRow(record!, 'ghost')
    expect(r).toEqual({
      failedAt: NOW,
      sourceTopic: 'predictions',
      sourcePartition: 3,
      sourceOffset: '1042',
      sourceTimestamp: NOW - 60_000,
      code: 'unknown_model',
      step: 'validate',
      reason: "model_id 'ghost' is not configured in driftgate",
      modelId: 'ghost',
      key: Buffer.from('p-1'),
      value: Buffer.from('{"model_id":"ghost"}'),
      headers: { traceparent: '00-abc-01' },
      partition: 0,
      offset: '100',
    })
  })

  it('a record without the headers (not written by driftgate) still makes a row, timed by its timestamp', () => {
    const r = deadLetterRow({ topic: 'dead-letter', partition: 1, offset: '7', key: null, value: null, timestamp: NOW, headers: {} }, null)
    expect(r).toMatchObject({
      failedAt: NOW,
      sourceTopic: '',
      sourcePartition: null,
      sourceOffset: '',
      code: '',
      step: '',
      reason: '',
      modelId: null,
      partition: 1,
      offset: '7',
    })
  })

  it('filters by time (inclusive), model and code together', () => {
    const r = row(NOW, { modelId: 'a', code: 'x' })
    expect(matches(r, {})).toBe(true)
    expect(matches(r, { since: NOW })).toBe(true)
    expect(matches(r, { since: NOW + 1 })).toBe(false)
    expect(matches(r, { model: 'a', code: 'x' })).toBe(true)
    expect(matches(r, { model: 'b' })).toBe(false)
    expect(matches(r, { code: 'y' })).toBe(false)
    expect(matches(row(NOW, { modelId: null }), { model: 'a' })).toBe(false)
  })

  it('keeps the newest rows of a long shuffled stream, oldest first', () => {
    const times = Array.from({ length: 5_000 }, (_, i) => NOW + i * 1000)
    // A deterministic shuffle: the stream order must not matter.
    const shuffled = times
      .map((t, i) => ({ t, k: (i * 7919) % 5_003 }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.t)
    const kept = new NewestRows(50)
    for (const t of shuffled) kept.add(row(t))
    expect(kept.seen).toBe(5_000)
    expect(kept.newest().map((r) => r.failedAt)).toEqual(times.slice(-50))
  })

  it('rows rejected in the same millisecond keep their order on the topic', () => {
    const kept = new NewestRows(3)
    for (const offset of ['12', '9', '10', '11']) kept.add(row(NOW, { offset }))
    expect(kept.newest().map((r) => r.offset)).toEqual(['10', '11', '12'])
  })
})

describe('terminal-safe text', () => {
  it('escapes control characters and backslashes, keeps other text', () => {
    expect(printable("model_id 'a\u001b[31mb' is\tnot\nconfigured \\ café ✓\u0000\u007f\u0085")).toBe(
      "model_id 'a\\x1b[31mb' is\\tnot\\nconfigured \\\\ café ✓\\x00\\x7f\\x85",
    )
  })

  it('shows a value prefix byte by byte: printable ASCII as is, the rest escaped', () => {
    const avro = Buffer.from([0, 0, 0, 0, 7, 0x0e, 0x63, 0x64, 0x2d, 0x31, 0xc3, 0xa9, 0x5c, 0x0a])
    expect(valuePrefix(avro)).toBe('\\x00\\x00\\x00\\x00\\x07\\x0ecd-1\\xc3\\xa9\\\\\\n')
    expect(valuePrefix(Buffer.from('{"a":1}\r\n\t'))).toBe('{"a":1}\\r\\n\\t')
    expect(valuePrefix(null)).toBe('')
    expect(valuePrefix(Buffer.alloc(0))).toBe('')
  })

  it('cuts the value after 40 bytes and says so', () => {
    const forty = 'x'.repeat(40)
    expect(valuePrefix(Buffer.from(forty))).toBe(forty)
    expect(valuePrefix(Buffer.from(`${forty}y`))).toBe(`${forty}…`)
    expect(valuePrefix(Buffer.from('abcdef'), 3)).toBe('abc…')
  })
})

describe('model_id of the original value', () => {
  const fakeCodec = (decode: (value: Buffer, name: string) => Promise<unknown>) => {
    const calls: string[] = []
    const codec = {
      decode: async (value: Buffer, name: string) => {
        calls.push(`${value.readInt32BE(1)}:${name}`)
        return decode(value, name)
      },
    } as unknown as EventCodec
    return { codec, calls }
  }
  const frame = (schemaId: number): Buffer => {
    const b = Buffer.alloc(8)
    b.writeInt32BE(schemaId, 1)
    return b
  }

  it('reads JSON values, even broken ones that still name it', async () => {
    const read = modelIdReader(null, 'labels')
    expect(await read(Buffer.from('{"prediction_id":"p","model_id":"credit-default"}'), 'predictions')).toBe('credit-default')
    expect(await read(Buffer.from('{"prediction_id":"p","model_id":"credit-default", "event_time": '), 'predictions')).toBe('credit-default')
    expect(await read(Buffer.from('{"model_id": 42}'), 'predictions')).toBeNull()
    expect(await read(Buffer.from('{"x": 1'), 'predictions')).toBeNull()
    expect(await read(Buffer.from('plain text'), 'predictions')).toBeNull()
    expect(await read(null, 'predictions')).toBeNull()
    expect(await read(frame(1), 'predictions')).toBeNull()
  })

  it('decodes Avro as a prediction or, from the labels topic, as a label', async () => {
    const { codec, calls } = fakeCodec(async (_v, name) => ({ event: { model_id: name === 'LabelEvent' ? 'from-label' : 'from-prediction' } }))
    const read = modelIdReader(codec, 't-labels')
    expect(await read(frame(3), 't-predictions')).toBe('from-prediction')
    expect(await read(frame(3), 't-labels')).toBe('from-label')
    expect(calls).toEqual(['3:PredictionEvent', '3:LabelEvent'])
  })

  it('does not ask again for a schema the registry cannot give, but does after a malformed payload', async () => {
    const { codec, calls } = fakeCodec(async (value) => {
      const id = value.readInt32BE(1)
      if (id === 1) throw new Error('connect ECONNREFUSED')
      if (id === 2) throw new DecodeError('unknown_schema_id', 'schema id 2 is not in the registry')
      throw new DecodeError('malformed_avro', 'bad payload')
    })
    const read = modelIdReader(codec, 'labels')
    for (const id of [1, 1, 2, 2, 3, 3]) expect(await read(frame(id), 'predictions')).toBeNull()
    expect(calls.map((c) => c.split(':')[0])).toEqual(['1', '2', '3', '3'])
  })
})

describe('dead-letters output', () => {
  const rows = [
    row(Date.UTC(2025, 10, 28, 10, 0, 0, 123), {
      sourceTopic: 'predictions',
      sourcePartition: 4,
      sourceOffset: '88',
      code: 'unknown_model',
      modelId: 'ghost',
      reason: "model_id 'ghost' is not configured",
      value: Buffer.from('{"model_id":"ghost"}'),
    }),
    row(Date.UTC(2025, 10, 28, 11, 0, 0), {
      sourceTopic: 'labels',
      sourcePartition: 0,
      sourceOffset: '5',
      code: 'malformed_json',
      step: 'decode',
      modelId: null,
      reason: 'not valid JSON:\nUnexpected end',
      value: Buffer.from([0x7b, 0x01]),
    }),
  ]

  it('prints one table line per row with time, source, code, step, model, reason and value', () => {
    const text = formatDeadLetters({ rows, matched: 2, read: 9, complete: true }, { limit: 50 }, 't-dead-letter')
    const lines = text.split('\n')
    expect(lines[0]!.split(/\s{2,}/)).toEqual(['time', 'source', 'code', 'step', 'model_id', 'reason', 'value'])
    expect(lines).toHaveLength(5)
    expect(lines[2]!.split(/\s{2,}/)).toEqual([
      '2025-11-28T10:00:00Z',
      'predictions/4/88',
      'unknown_model',
      'validate',
      'ghost',
      "model_id 'ghost' is not configured",
      '{"model_id":"ghost"}',
    ])
    // No model_id: its cell is blank (the padding runs into the next column's).
    expect(lines[3]!.split(/\s{2,}/)).toEqual(['2025-11-28T11:00:00Z', 'labels/0/5', 'malformed_json', 'decode', 'not valid JSON:\\nUnexpected end', '{\\x01'])
    expect(lines[4]).toBe('2 matching dead letters, 9 read from t-dead-letter')
  })

  it('says when older matching records were left out', () => {
    const text = formatDeadLetters({ rows: rows.slice(1), matched: 7, read: 9, complete: true }, { limit: 1 }, 'dead-letter')
    expect(text.split('\n').at(-1)).toBe('newest 1 of 7 matching dead letters (oldest first; --limit shows more), 9 read from dead-letter')
    expect(formatDeadLetters({ rows: [], matched: 0, read: 0, complete: true }, { limit: 50 }, 'dead-letter')).toBe(
      '(no rows)\n0 matching dead letters, 0 read from dead-letter',
    )
  })

  it('--json gives every field, the whole reason and the original value', () => {
    const parsed = JSON.parse(formatDeadLetters({ rows, matched: 2, read: 2, complete: true }, { limit: 50, json: true }, 'dead-letter')) as Record<
      string,
      unknown
    >[]
    expect(parsed).toHaveLength(2)
    expect(parsed[1]).toEqual({
      failed_at: '2025-11-28T11:00:00Z',
      source_topic: 'labels',
      source_partition: 0,
      source_offset: '5',
      source_timestamp: '2025-11-28T10:59:59Z',
      code: 'malformed_json',
      step: 'decode',
      reason: 'not valid JSON:\nUnexpected end',
      model_id: null,
      key: null,
      headers: {},
      value_prefix: '{\\x01',
      value_base64: Buffer.from([0x7b, 0x01]).toString('base64'),
      dead_letter: { partition: 0, offset: String(Date.UTC(2025, 10, 28, 11)) },
    })
  })
})
