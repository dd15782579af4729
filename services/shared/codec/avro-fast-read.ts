import type { RecordName } from './schemas.ts'

// avsc reads a record through its generic type objects and decodes every map key anew, though
// the keys (feature names) are the same on every record. The two records the monitor reads by
// the million are read here by code written for their schema, with map keys interned. It is
// only used for a writer schema equal to ours, and is stricter than avsc: whatever it refuses is
// read again by avsc after the bounds walk, which accept or word the error as before.

/** Map keys up to this many bytes are interned. */
const MAX_INTERNED_BYTES = 64
/** Interned keys: a fixed table, so hostile keys cost one slot each and never more memory. */
const TABLE_SLOTS = 4096

interface Interned {
  bytes: Uint8Array
  text: string
}

const interned: (Interned | undefined)[] = new Array<Interned | undefined>(TABLE_SLOTS)

/** Thrown (one object, no stack to capture) for bytes left to avsc. */
const REFUSED = new Error('left to avsc')
function refuse(): never {
  throw REFUSED
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
  ) {}

  long(): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < 10 && this.pos < this.buf.length; i++) {
      const b = this.buf[this.pos++]!
      result += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        const n = result % 2 === 0 ? result / 2 : -(result + 1) / 2
        if (!Number.isSafeInteger(n)) refuse()
        return n
      }
      scale *= 128
    }
    refuse()
  }

  /** A byte length or block count, which cannot exceed the bytes left. */
  size(): number {
    const n = this.long()
    if (n < 0 || n > this.buf.length - this.pos) refuse()
    return n
  }

  string(): string {
    const n = this.size()
    const start = this.pos
    this.pos += n
    return this.buf.toString('utf8', start, this.pos)
  }

  key(): string {
    const n = this.size()
    const start = this.pos
    this.pos += n
    if (n > MAX_INTERNED_BYTES) return this.buf.toString('utf8', start, this.pos)
    const buf = this.buf
    let h = 0x811c9dc5 ^ n
    for (let i = start; i < this.pos; i++) h = Math.imul(h ^ buf[i]!, 0x01000193)
    const slot = (h >>> 0) % TABLE_SLOTS
    const known = interned[slot]
    if (known && known.bytes.length === n) {
      let same = true
      for (let i = 0; i < n && same; i++) same = known.bytes[i] === buf[start + i]
      if (same) return known.text
    }
    const text = buf.toString('utf8', start, this.pos)
    interned[slot] = { bytes: Uint8Array.prototype.slice.call(buf, start, this.pos), text }
    return text
  }

  double(): number {
    if (this.buf.length - this.pos < 8) refuse()
    const v = this.buf.readDoubleLE(this.pos)
    this.pos += 8
    return v
  }

  /** A union of null and `read` (index 0 null, 1 the value). */
  nullable<T>(read: (r: Reader) => T): T | null {
    const branch = this.long()
    if (branch === 0) return null
    if (branch === 1) return read(this)
    refuse()
  }

  /** A map, block by block; a negative count is followed by the block's size in bytes. */
  map<T>(read: (r: Reader) => T): Record<string, T> {
    // Filled as avsc fills it (`{}` and assignment), so keys such as __proto__ come out alike.
    const out: Record<string, T> = {}
    for (let count = this.long(); count !== 0; count = this.long()) {
      if (count < 0) {
        count = -count
        this.size()
      }
      if (count > this.buf.length - this.pos) refuse()
      for (let i = 0; i < count; i++) {
        const key = this.key()
        out[key] = read(this)
      }
    }
    return out
  }

  end(): void {
    if (this.pos !== this.buf.length) refuse()
  }
}

const readDouble = (r: Reader): number => r.double()
const readString = (r: Reader): string => r.string()
const readNullableDouble = (r: Reader): number | null => r.nullable(readDouble)
const readNullableString = (r: Reader): string | null => r.nullable(readString)

function readPrediction(r: Reader): unknown {
  const value = {
    prediction_id: r.string(),
    model_id: r.string(),
    model_version: r.string(),
    event_time: r.long(),
    numeric_features: r.map(readNullableDouble),
    categorical_features: r.map(readNullableString),
    prediction: { predicted_class: r.nullable(readString), scores: r.map(readDouble), value: r.nullable(readDouble) },
    segments: r.map(readString),
  }
  r.end()
  return value
}

function readLabel(r: Reader): unknown {
  const value = {
    prediction_id: r.string(),
    model_id: r.string(),
    label_time: r.long(),
    label_class: r.nullable(readString),
    label_value: r.nullable(readDouble),
  }
  r.end()
  return value
}

const READERS: Partial<Record<RecordName, (r: Reader) => unknown>> = { PredictionEvent: readPrediction, LabelEvent: readLabel }

/**
 * The fast reader of a record written with our own schema (the Avro body from `start` to the
 * end of the bytes: no view of them to make per record), or null for records read only through
 * avsc. The reader returns undefined for bytes it does not accept.
 */
export function fastReader(name: RecordName): ((bytes: Buffer, start: number) => unknown) | null {
  const read = READERS[name]
  if (!read) return null
  return (bytes, start) => {
    try {
      return read(new Reader(bytes, start))
    } catch {
      return undefined
    }
  }
}
