// ClickHouse's RowBinary input format, for the raw-event inserts: half the bytes of JSONEachRow,
// no JSON to build in the monitor and none to parse in ClickHouse. Every value is written as its
// column type's binary form (little-endian numbers, strings as a LEB128 length and UTF-8 bytes,
// Nullable as a null flag before the value, Array as a LEB128 length before its elements).

const TWO_32 = 4_294_967_296
const DAY_MS = 86_400_000
/** Strings kept encoded (names and other values repeated on every row); cleared when full. */
const CACHE_LIMIT = 4096

/** The key list last written to one map column, encoded: rows of one model repeat it. */
interface KeyList {
  keys: string[]
  bytes: Uint8Array
}

export class RowBinaryWriter {
  private buf: Buffer
  // Numbers are written through a DataView, which the compiler inlines (Buffer's write methods it does not).
  private view: DataView
  private at = 0
  private readonly cache = new Map<string, Buffer>()
  private readonly keyLists: (KeyList | undefined)[] = []

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialBytes)
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length)
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.at)
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n))
    this.buf.copy(next, 0, 0, this.at)
    this.buf = next
    this.view = new DataView(next.buffer, next.byteOffset, next.length)
  }

  /** LEB128, as ClickHouse writes string and array lengths. */
  varUInt(n: number): void {
    this.room(10)
    while (n >= 0x80) {
      this.buf[this.at++] = (n & 0x7f) | 0x80
      n = Math.floor(n / 128)
    }
    this.buf[this.at++] = n
  }

  uint8(n: number): void {
    this.room(1)
    this.buf[this.at++] = n
  }

  uint16(n: number): void {
    this.room(2)
    this.view.setUint16(this.at, n, true)
    this.at += 2
  }

  uint32(n: number): void {
    this.room(4)
    this.view.setUint32(this.at, n, true)
    this.at += 4
  }

  /** A UInt64 held in a JS number (ours are ms timestamps, offsets and counts below 2^53). */
  uint64(n: number): void {
    this.room(8)
    this.view.setUint32(this.at, (n % TWO_32) >>> 0, true)
    this.view.setUint32(this.at + 4, Math.floor(n / TWO_32) >>> 0, true)
    this.at += 8
  }

  float64(x: number): void {
    this.room(8)
    this.putFloat64(x)
  }

  /** -0 is stored as 0 (as JSON writes it): a min or max over both would otherwise return
   *  either, by the order ClickHouse reads the parts in. The room is made by the caller. */
  private putFloat64(x: number): void {
    this.view.setFloat64(this.at, x === 0 ? 0 : x, true)
    this.at += 8
  }

  /** A Date column: days since 1970-01-01 (UTC) of a time in ms. */
  date(ms: number): void {
    this.uint16(Math.floor(ms / DAY_MS))
  }

  string(s: string): void {
    // Short ASCII strings (ids, categories) are copied byte by byte, cheaper than a native call.
    const n = s.length
    if (n < 128) {
      this.room(n + 1)
      const start = this.at
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        this.buf[start + 1 + i] = c
      }
      if (i === n) {
        this.buf[start] = n
        this.at = start + 1 + n
        return
      }
    }
    this.room(n * 3 + 10)
    const bytes = Buffer.byteLength(s, 'utf8')
    this.varUInt(bytes)
    this.at += this.buf.write(s, this.at, 'utf8')
  }

  /** A string that recurs on many rows (a model id, feature names), encoded once. */
  recurringString(s: string): void {
    let encoded = this.cache.get(s)
    if (encoded === undefined) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear()
      const one = new RowBinaryWriter(s.length * 3 + 10)
      one.string(s)
      encoded = Buffer.from(one.bytes())
      this.cache.set(s, encoded)
    }
    const n = encoded.length
    this.room(n)
    // A loop: for a few bytes, cheaper than a native copy.
    for (let i = 0; i < n; i++) this.buf[this.at + i] = encoded[i]!
    this.at += n
  }

  nullableString(s: string | null): void {
    if (s === null) return this.uint8(1)
    this.uint8(0)
    this.string(s)
  }

  nullableFloat64(x: number | null): void {
    if (x === null) return this.uint8(1)
    this.uint8(0)
    this.float64(x)
  }

  // A map is written as two Array columns, its keys then its values, in its own key order
  // (for-in: no arrays of keys or values per row).

  /** A map's keys, names that recur on every row; returns their count for its values. Given
   *  its column's `slot` (a small number), a key list the same as that column's last one
   *  (compared key by key) is copied as one. */
  mapKeys(map: Readonly<Record<string, unknown>>, slot?: number): number {
    const last = slot === undefined ? undefined : this.keyLists[slot]
    let n = 0
    let same = last !== undefined
    for (const key in map) {
      if (same && last!.keys[n] !== key) same = false
      n++
    }
    if (same && n === last!.keys.length) {
      const bytes = last!.bytes
      this.room(bytes.length)
      this.buf.set(bytes, this.at)
      this.at += bytes.length
      return n
    }
    const start = this.at
    this.varUInt(n)
    for (const key in map) this.recurringString(key)
    if (slot !== undefined) this.keyLists[slot] = { keys: Object.keys(map), bytes: Uint8Array.prototype.slice.call(this.buf, start, this.at) }
    return n
  }

  mapStrings(map: Readonly<Record<string, string>>, count: number): void {
    this.varUInt(count)
    for (const key in map) this.string(map[key]!)
  }

  mapNullableStrings(map: Readonly<Record<string, string | null>>, count: number): void {
    this.varUInt(count)
    for (const key in map) this.nullableString(map[key]!)
  }

  mapFloat64s(map: Readonly<Record<string, number>>, count: number): void {
    this.varUInt(count)
    this.room(count * 8)
    for (const key in map) this.putFloat64(map[key]!)
  }

  mapNullableFloat64s(map: Readonly<Record<string, number | null>>, count: number): void {
    this.varUInt(count)
    this.room(count * 9)
    for (const key in map) {
      const x = map[key]!
      if (x === null) {
        this.buf[this.at++] = 1
        continue
      }
      this.buf[this.at++] = 0
      this.putFloat64(x)
    }
  }
}

/** Rows of one table in RowBinary: its column list (for `INSERT INTO t (...)`) and the bytes. */
export interface RowBinaryRows {
  columns: readonly string[]
  rows: number
  bytes: Buffer
}

/** How many partitions the rows of one insert may fall in: ClickHouse refuses a block that spans
 *  more (`max_partitions_per_insert_block`, 100 by default since 19.x; 18.16 has no such limit). */
export const MAX_PARTITIONS_PER_INSERT = 100

/** How one table's rows are written: the columns in order and a writer of one row. */
export interface RowBinaryLayout<T> {
  columns: readonly string[]
  write(w: RowBinaryWriter, row: T): void
  /** The row's partition (the table's PARTITION BY), for a table that has one. */
  partition?(row: T): number
}

interface Block {
  writer: RowBinaryWriter
  rows: number
  partitions: number
}

/**
 * Rows of one table written as they come, so that no row object has to outlive its source, into
 * as many insert blocks as it takes for none to span more than `maxPartitions` partitions: events
 * a producer stamped years apart must not make the whole batch's insert fail on every retry.
 */
export class RowBinaryRowsWriter<T> {
  private readonly blocks: Block[] = []
  private readonly blockOf = new Map<number, Block>()
  private lastPartition = NaN
  private lastBlock: Block | null = null

  constructor(
    private readonly layout: RowBinaryLayout<T>,
    private readonly initialBytes = 1 << 12,
    private readonly maxPartitions = MAX_PARTITIONS_PER_INSERT,
  ) {}

  add(row: T): void {
    const block = this.blockFor(this.layout.partition?.(row) ?? 0)
    this.layout.write(block.writer, row)
    block.rows++
  }

  private blockFor(partition: number): Block {
    // Consecutive rows are mostly of one partition.
    if (partition === this.lastPartition && this.lastBlock) return this.lastBlock
    let block = this.blockOf.get(partition)
    if (!block) {
      block = this.blocks[this.blocks.length - 1]
      if (!block || block.partitions === this.maxPartitions) {
        block = { writer: new RowBinaryWriter(this.blocks.length === 0 ? this.initialBytes : 1 << 12), rows: 0, partitions: 0 }
        this.blocks.push(block)
      }
      block.partitions++
      this.blockOf.set(partition, block)
    }
    this.lastPartition = partition
    this.lastBlock = block
    return block
  }

  /** Rows added so far. */
  rows(): number {
    return this.blocks.reduce((n, b) => n + b.rows, 0)
  }

  /** One insert per block; none when no row was added. */
  inserts(): RowBinaryRows[] {
    return this.blocks.map((b) => ({ columns: this.layout.columns, rows: b.rows, bytes: b.writer.bytes() }))
  }
}

export function encodeRows<T>(layout: RowBinaryLayout<T>, rows: readonly T[]): RowBinaryRows[] {
  const out = new RowBinaryRowsWriter(layout, Math.max(1 << 12, rows.length * 256))
  for (const row of rows) out.add(row)
  return out.inserts()
}
