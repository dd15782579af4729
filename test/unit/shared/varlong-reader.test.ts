import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { KAFKAJS_READER, fastVarLongs } from '../../../services/shared/kafka/varlong-reader.ts'

// kafkajs's own varlong reader (which the patch keeps to fall back to) against the patched one on
// the same bytes: the same value and the same position after it, or the same error.

interface Decoder {
  offset: number
  readVarLong(): { toString(): string }
}
const require = createRequire(import.meta.url)
const DecoderClass = require('kafkajs/src/protocol/decoder.js') as { new (buffer: Buffer): Decoder; prototype: Decoder }
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => { writeVarLong(value: unknown): { buffer: Buffer } }
const Long = require('kafkajs/src/utils/long.js') as { fromString(text: string): unknown }

function read(readVarLong: Decoder['readVarLong'], bytes: Buffer): { value?: string; offset: number; error?: string } {
  const decoder = new DecoderClass(bytes)
  try {
    const value = readVarLong.call(decoder).toString()
    return { value, offset: decoder.offset }
  } catch (error) {
    return { error: (error as Error).message, offset: decoder.offset }
  }
}

const encoded = (value: bigint): Buffer => new Encoder().writeVarLong(Long.fromString(value.toString())).buffer

describe('fast varlong reader', () => {
  fastVarLongs()
  const patched = DecoderClass.prototype.readVarLong
  // Another test in this process may have installed it first.
  const original = (patched as Decoder['readVarLong'] & { [KAFKAJS_READER]: Decoder['readVarLong'] })[KAFKAJS_READER]

  it("replaces kafkajs's reader once", () => {
    expect(original).toBeTypeOf('function')
    expect(original).not.toBe(patched)
    fastVarLongs()
    expect(DecoderClass.prototype.readVarLong).toBe(patched)
  })

  it('reads what kafkajs writes as kafkajs reads it, from 0 to the 64-bit limits', () => {
    const values: bigint[] = [0n, 1n, -1n, 63n, -64n, 64n, -65n, 2n ** 48n - 1n, -(2n ** 48n), 2n ** 48n, -(2n ** 48n) - 1n]
    values.push(2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n))
    let seed = 7
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0)
    for (let i = 0; i < 20_000; i++) {
      const bits = BigInt(next() % 64)
      const magnitude = (BigInt(next()) * 2n ** 32n + BigInt(next())) % 2n ** bits
      values.push(next() % 2 === 0 ? magnitude : -magnitude - 1n)
    }
    for (const value of values) {
      const bytes = Buffer.concat([encoded(value), Buffer.from([0x05])])
      const expected = read(original, bytes)
      expect(expected.value).toBe(value.toString())
      expect(read(patched, bytes)).toEqual(expected)
    }
  })

  it('reads truncated and overlong input as kafkajs does', () => {
    const cases = [Buffer.alloc(0), Buffer.from([0x80]), Buffer.from([0xff, 0xff, 0xff]), Buffer.alloc(7, 0xff), Buffer.alloc(12, 0xff)]
    cases.push(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), Buffer.from([0x81, 0x00]))
    for (const bytes of cases) expect(read(patched, bytes)).toEqual(read(original, bytes))
  })
})
