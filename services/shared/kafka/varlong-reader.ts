import { createRequire } from 'node:module'

// kafkajs 2.2.4 reads each record's timestamp delta (a zigzag varlong) with BigInt-backed Long
// objects, about ten per byte read; in a monitor reading both topics that was a sixth of
// everything it allocated. A delta of up to seven bytes (49 bits) is read here as a number, exact
// in a double, into one Long; longer or malformed input is left to kafkajs's own reader.

interface Decoder {
  buffer: Buffer
  offset: number
  readVarLong(): unknown
}
interface LongClass {
  fromNumber(value: number): unknown
}

const FAST_BYTES = 7
/** On the installed reader: kafkajs's own, which it falls back to. */
export const KAFKAJS_READER = Symbol('kafkajs readVarLong')
/** A reader, marked with kafkajs's own once it is the one installed here. */
type Reader = ((this: Decoder) => unknown) & { [KAFKAJS_READER]?: Reader }

/** Replaces kafkajs's Decoder.readVarLong with the reader above. Idempotent. */
export function fastVarLongs(): void {
  const require = createRequire(import.meta.url)
  const decoder = require('kafkajs/src/protocol/decoder.js') as { prototype: Decoder }
  const Long = require('kafkajs/src/utils/long.js') as LongClass
  const current = decoder.prototype.readVarLong as Reader
  if (current[KAFKAJS_READER]) return
  const readVarLong: Reader = function (this: Decoder): unknown {
    const { buffer, offset } = this
    let value = 0
    let scale = 1
    for (let i = 0; i < FAST_BYTES; i++) {
      const byte = buffer[offset + i]
      if (byte === undefined) break
      value += (byte & 0x7f) * scale
      if (byte < 0x80) {
        this.offset = offset + i + 1
        // Zigzag: even values are the non-negative ones, odd ones the negative.
        return Long.fromNumber(value % 2 === 0 ? value / 2 : -(value + 1) / 2)
      }
      scale *= 128
    }
    return current.call(this)
  }
  readVarLong[KAFKAJS_READER] = current
  decoder.prototype.readVarLong = readVarLong
}
