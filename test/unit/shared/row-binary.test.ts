import { describe, expect, it } from 'vitest'
import { MAX_PARTITIONS_PER_INSERT, RowBinaryRowsWriter, RowBinaryWriter, encodeRows } from '../../../services/shared/clickhouse/row-binary.ts'
import { mondayOf } from '../../../services/monitor/core/ingest/event-rows.ts'

const written = (write: (w: RowBinaryWriter) => void, initial?: number): number[] => {
  const w = new RowBinaryWriter(initial)
  write(w)
  return [...w.bytes()]
}

describe('RowBinary encoding', () => {
  it('writes lengths as LEB128', () => {
    expect(written((w) => [0, 127, 128, 300, 2 ** 35].forEach((n) => w.varUInt(n)))).toEqual([
      0, 127, 0x80, 0x01, 0xac, 0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
    ])
  })

  it('writes numbers little-endian, UInt64 up to 2^53, -0 as 0, dates as days', () => {
    const u64 = (n: number): number[] => [...Buffer.from(BigInt(n).toString(16).padStart(16, '0'), 'hex').reverse()]
    expect(written((w) => w.uint64(Number.MAX_SAFE_INTEGER))).toEqual(u64(Number.MAX_SAFE_INTEGER))
    expect(written((w) => w.uint64(2 ** 32 + 5))).toEqual(u64(2 ** 32 + 5))
    expect(written((w) => w.uint32(4_294_967_295))).toEqual([255, 255, 255, 255])
    const f = Buffer.alloc(8)
    f.writeDoubleLE(0.1)
    expect(written((w) => w.float64(0.1))).toEqual([...f])
    expect(written((w) => w.float64(-0))).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
    // 2026-12-05 is day 20,792 since 1970-01-01; the last ms of a day is still that day.
    expect(written((w) => w.date(Date.UTC(2026, 11, 5, 23, 59, 59, 999)))).toEqual([20_792 & 255, 20_792 >> 8])
  })

  it('writes strings as their UTF-8 byte length and bytes, short or long, ASCII or not', () => {
    for (const s of ['', 'abc', 'ä', '日本', '😀', 'x'.repeat(127), 'y'.repeat(128), `é${'z'.repeat(300)}`, `${'a'.repeat(100)}ß`]) {
      const utf8 = Buffer.from(s, 'utf8')
      const prefix = written((w) => w.varUInt(utf8.length))
      expect(written((w) => w.string(s), 4)).toEqual([...prefix, ...utf8])
      expect(written((w) => w.recurringString(s), 4)).toEqual([...prefix, ...utf8])
    }
  })

  it('writes Nullable as a null flag before the value, a map as an Array of keys and one of values', () => {
    expect(written((w) => w.nullableString(null))).toEqual([1])
    const one = Buffer.alloc(8)
    one.writeDoubleLE(1)
    const two = Buffer.alloc(8)
    two.writeDoubleLE(2)
    // Keys in the map's own order, written once per column.
    const map = { b: 'x', a: null, é: 'yz' }
    expect(written((w) => w.mapNullableStrings(map, w.mapKeys(map)))).toEqual([3, 1, 98, 1, 97, 2, 0xc3, 0xa9, 3, 0, 1, 120, 1, 0, 2, 121, 122])
    const numbers = { n: null, m: 1 }
    expect(written((w) => w.mapNullableFloat64s(numbers, w.mapKeys(numbers)))).toEqual([2, 1, 110, 1, 109, 2, 1, 0, ...one])
    const scores = { k: 1, j: 2 }
    expect(written((w) => w.mapFloat64s(scores, w.mapKeys(scores)))).toEqual([2, 1, 107, 1, 106, 2, ...one, ...two])
    const segments = { s: 'v' }
    expect(written((w) => w.mapStrings(segments, w.mapKeys(segments)))).toEqual([1, 1, 115, 1, 1, 118])
    expect(written((w) => w.mapStrings({}, w.mapKeys({})))).toEqual([0, 0])
  })

  it('writes the same keys through a key-list slot as without, whichever list came before', () => {
    const maps: Record<string, number>[] = [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
      { a: 1 },
      { a: 1, b: 2, c: 3 },
      { b: 1, a: 2 },
      {},
      { a: 5, b: 6 },
      { ['ä'.normalize()]: 1, b: 2 },
    ]
    const cached = written((w) => maps.forEach((m) => w.mapFloat64s(m, w.mapKeys(m, 0))), 4)
    const plain = written((w) => maps.forEach((m) => w.mapFloat64s(m, w.mapKeys(m))), 4)
    // Independently: each map as its key count, keys (length-prefixed), value count and values.
    const expected = maps.flatMap((m) => {
      const keys = Object.keys(m).flatMap((k) => [Buffer.byteLength(k), ...Buffer.from(k)])
      const values = Object.values(m).flatMap((x) => {
        const b = Buffer.alloc(8)
        b.writeDoubleLE(x)
        return [...b]
      })
      return [Object.keys(m).length, ...keys, Object.keys(m).length, ...values]
    })
    expect(cached).toEqual(expected)
    expect(plain).toEqual(expected)
  })

  it('grows its buffer over many rows without losing bytes', () => {
    const rows = Array.from({ length: 5_000 }, (_, i) => `row-${i}-${'é'.repeat(i % 50)}`)
    const [encoded, ...more] = encodeRows({ columns: ['s'], write: (w, s: string) => w.string(s) }, rows)
    const expected = Buffer.concat(rows.map((s) => Buffer.concat([Buffer.from(written((w) => w.varUInt(Buffer.byteLength(s)))), Buffer.from(s)])))
    expect(more).toEqual([])
    expect(encoded!.rows).toBe(5_000)
    expect(encoded!.bytes.equals(expected)).toBe(true)
  })

  it('puts a Monday and the six days after it in one week, as toMonday does', () => {
    const day = 86_400_000
    // 1970-01-05 and 2024-01-01 were Mondays; 1970-01-01 to 01-04 come before the first one.
    const monday = Date.UTC(2024, 0, 1) / day
    expect([0, 3, 6].map((d) => mondayOf(Date.UTC(2024, 0, 1 + d, 23, 59, 59, 999)))).toEqual([monday, monday, monday])
    expect(mondayOf(Date.UTC(2023, 11, 31, 23, 59, 59, 999))).toBe(monday - 7)
    expect(mondayOf(Date.UTC(2024, 0, 8))).toBe(monday + 7)
    expect([0, 3 * day + 1].map(mondayOf)).toEqual([-3, -3])
    expect(mondayOf(4 * day)).toBe(4)
  })

  it('splits rows into inserts of at most the partition limit, each row once and in order within its insert', () => {
    // Rows of 250 partitions, shuffled: each insert may hold at most 100 of them.
    const rows = Array.from({ length: 2_000 }, (_, i) => ({ id: i, partition: (i * 7919) % 250 }))
    const writer = new RowBinaryRowsWriter({
      columns: ['id'],
      write: (w, r: { id: number; partition: number }) => w.uint32(r.id),
      partition: (r) => r.partition,
    })
    rows.forEach((r) => writer.add(r))
    const inserts = writer.inserts()
    expect(writer.rows()).toBe(2_000)
    expect(inserts.map((b) => b.rows).reduce((a, b) => a + b, 0)).toBe(2_000)
    const ids = inserts.map((b) => Array.from({ length: b.rows }, (_, k) => b.bytes.readUInt32LE(4 * k)))
    expect(ids.flat().sort((a, b) => a - b)).toEqual(rows.map((r) => r.id))
    for (const block of ids) {
      expect(new Set(block.map((id) => rows[id]!.partition)).size).toBeLessThanOrEqual(MAX_PARTITIONS_PER_INSERT)
      expect(block).toEqual([...block].sort((a, b) => a - b))
    }
    // 250 partitions fill two inserts and part of a third, each partition in one insert only.
    expect(inserts).toHaveLength(3)
    const partitionsOf = ids.map((block) => new Set(block.map((id) => rows[id]!.partition)))
    expect(partitionsOf.map((p) => p.size)).toEqual([100, 100, 50])
    expect(new Set(partitionsOf.flatMap((p) => [...p])).size).toBe(250)
  })

  it('writes no insert without rows, and one for a table without partitions', () => {
    expect(new RowBinaryRowsWriter({ columns: ['id'], write: (w, r: number) => w.uint32(r) }).inserts()).toEqual([])
    expect(encodeRows({ columns: ['id'], write: (w, r: number) => w.uint32(r) }, [1, 2, 3]).map((b) => b.rows)).toEqual([3])
  })
})
