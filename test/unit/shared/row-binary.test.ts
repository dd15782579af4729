import { describe, expect, it } from 'vitest'
import { RowBinaryWriter, encodeRows } from '../../../services/shared/clickhouse/row-binary.ts'

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

  it('writes Nullable as a null flag before the value, Array as a length before the elements', () => {
    expect(written((w) => w.nullableStrings(['a', null, 'bc']))).toEqual([3, 0, 1, 97, 1, 0, 2, 98, 99])
    const one = Buffer.alloc(8)
    one.writeDoubleLE(1)
    expect(written((w) => w.nullableFloat64s([null, 1]))).toEqual([2, 1, 0, ...one])
    expect(written((w) => w.recurringStrings([]))).toEqual([0])
  })

  it('grows its buffer over many rows without losing bytes', () => {
    const rows = Array.from({ length: 5_000 }, (_, i) => `row-${i}-${'é'.repeat(i % 50)}`)
    const encoded = encodeRows({ columns: ['s'], write: (w, s: string) => w.string(s) }, rows)
    const expected = Buffer.concat(rows.map((s) => Buffer.concat([Buffer.from(written((w) => w.varUInt(Buffer.byteLength(s)))), Buffer.from(s)])))
    expect(encoded.rows).toBe(5_000)
    expect(encoded.bytes.equals(expected)).toBe(true)
  })
})
