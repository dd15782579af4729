import type avro from 'avsc'

// avsc trusts the counts in the bytes: a map or array block claiming 2^62 entries in a few
// bytes makes it loop (and allocate) for minutes, freezing the consumer. This walk checks every
// block count and length against the bytes left, with the writer schema, before avsc reads a
// byte; its cost is bounded by the record's size.

const MAX_DEPTH = 64
/** Entries of zero-byte items (arrays of null or of empty records) allowed per record. */
const MAX_EMPTY_ITEMS = 100_000

type AnyType = avro.Type & {
  typeName: string
  fields?: { type: AnyType }[]
  itemsType?: AnyType
  valuesType?: AnyType
  types?: AnyType[]
  symbols?: string[]
  size?: number
  underlyingType?: AnyType
}

const minimum = new WeakMap<avro.Type, number>()

/** The fewest bytes a value of the type can take. */
function minBytes(type: AnyType, seen = new Set<avro.Type>()): number {
  const known = minimum.get(type)
  if (known !== undefined) return known
  if (seen.has(type)) return 0
  seen.add(type)
  const name = type.typeName
  let n: number
  if (name.startsWith('logical:')) n = minBytes(type.underlyingType!, seen)
  else if (name === 'null') n = 0
  else if (name === 'float') n = 4
  else if (name === 'double') n = 8
  else if (name === 'fixed') n = type.size ?? 0
  else if (name === 'record' || name === 'error') n = (type.fields ?? []).reduce((sum, f) => sum + minBytes(f.type, seen), 0)
  else n = 1 // boolean, int, long, bytes, string, enum, array, map, union
  minimum.set(type, n)
  return n
}

class Cursor {
  pos = 0
  emptyItems = 0
  constructor(readonly buf: Buffer) {}

  left(): number {
    return this.buf.length - this.pos
  }

  long(): number {
    let result = 0
    let shift = 1
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error('record ends inside a number')
      const b = this.buf[this.pos++]!
      result += (b & 0x7f) * shift
      if ((b & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2
      shift *= 128
    }
    throw new Error('a number is longer than 10 bytes')
  }

  skip(n: number, what: string): void {
    if (n < 0 || n > this.left()) throw new Error(`${what} claims ${n} bytes, ${this.left()} left`)
    this.pos += n
  }
}

/** Walks one value of a type from the cursor, `depth` levels down. */
type Walker = (c: Cursor, depth: number) => void

const walkers = new WeakMap<avro.Type, Walker>()

/**
 * The walker of a type, built once per type: a value read through closures made for its schema,
 * not by looking at the type's name for every value. A type that refers to itself gets a
 * walker that looks up its own (built by then) when called.
 */
function walkerOf(type: AnyType): Walker {
  const known = walkers.get(type)
  if (known) return known
  walkers.set(type, (c, depth) => walkers.get(type)!(c, depth))
  const walker = build(type)
  walkers.set(type, walker)
  return walker
}

function deeper(depth: number): void {
  if (depth > MAX_DEPTH) throw new Error(`values nested deeper than ${MAX_DEPTH}`)
}

function build(type: AnyType): Walker {
  const name = type.typeName
  if (name.startsWith('logical:')) return walkerOf(type.underlyingType!)
  switch (name) {
    case 'null':
      return (_c, depth) => deeper(depth)
    case 'boolean':
      return (c, depth) => (deeper(depth), c.skip(1, 'a boolean'))
    case 'int':
    case 'long':
      return (c, depth) => (deeper(depth), void c.long())
    case 'float':
      return (c, depth) => (deeper(depth), c.skip(4, 'a float'))
    case 'double':
      return (c, depth) => (deeper(depth), c.skip(8, 'a double'))
    case 'bytes':
    case 'string': {
      const what = `a ${name}`
      return (c, depth) => (deeper(depth), c.skip(c.long(), what))
    }
    case 'fixed': {
      const size = type.size ?? 0
      return (c, depth) => (deeper(depth), c.skip(size, 'a fixed'))
    }
    case 'enum': {
      const symbols = type.symbols?.length ?? 0
      return (c, depth) => {
        deeper(depth)
        const i = c.long()
        if (i < 0 || i >= symbols) throw new Error(`enum index ${i} out of range`)
      }
    }
    case 'record':
    case 'error': {
      const fields = (type.fields ?? []).map((f) => walkerOf(f.type))
      return (c, depth) => {
        deeper(depth)
        for (const field of fields) field(c, depth + 1)
      }
    }
    case 'array':
    case 'map': {
      const itemType = name === 'array' ? type.itemsType! : type.valuesType!
      const item = walkerOf(itemType)
      const map = name === 'map'
      const each = minBytes(itemType) + (map ? 1 : 0)
      return (c, depth) => {
        deeper(depth)
        for (;;) {
          let n = c.long()
          if (n === 0) return
          if (n < 0) {
            n = -n
            c.long() // block size in bytes
          }
          if (each > 0 && n * each > c.left()) throw new Error(`${name} block claims ${n} entries, only ${c.left()} bytes left`)
          if (each === 0 && (c.emptyItems += n) > MAX_EMPTY_ITEMS) throw new Error(`more than ${MAX_EMPTY_ITEMS} empty ${name} entries`)
          for (let i = 0; i < n; i++) {
            if (map) c.skip(c.long(), 'a map key')
            item(c, depth + 1)
          }
        }
      }
    }
    default: {
      // Unions (wrapped or not).
      const branches = (type.types ?? []).map(walkerOf)
      return (c, depth) => {
        deeper(depth)
        const i = c.long()
        if (i < 0 || i >= branches.length) throw new Error(`union branch ${i} out of range`)
        branches[i]!(c, depth + 1)
      }
    }
  }
}

/** Throws (with the reason) unless `body` can be read as `writer` within its own bytes. */
export function checkAvroBounds(writer: avro.Type, body: Buffer): void {
  const c = new Cursor(body)
  walkerOf(writer as AnyType)(c, 0)
  if (c.left() !== 0) throw new Error(`${c.left()} bytes left after the record`)
}
