/** Where a prediction sits: enough to find the windows a label for it updates. */
export interface IndexedPrediction {
  model_id: string
  model_version: string
  event_time: number
}

const FIRST_CAPACITY = 1024
const EMPTY = -1
const REMOVED = -2

/** FNV-1a over the UTF-16 code units, then murmur3's finalizer (linear probing wants all bits). */
export function hashId(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Set in a slot's length when its id is stored as two bytes per UTF-16 code unit. */
const WIDE = 0x80000000

/** What a ring holds per slot: whether it is taken, the id's hash and place in the arena (start,
 *  and length in code units, with WIDE), the event time and the interned model. */
interface Slots {
  used: Uint8Array
  hashes: Uint32Array
  starts: Uint32Array
  lengths: Uint32Array
  times: Float64Array
  models: Uint32Array
}

const emptySlots = (capacity: number): Slots => ({
  used: new Uint8Array(capacity),
  hashes: new Uint32Array(capacity),
  starts: new Uint32Array(capacity),
  lengths: new Uint32Array(capacity),
  times: new Float64Array(capacity),
  models: new Uint32Array(capacity),
})

/**
 * One partition's predictions, oldest first, in a ring of slots held entirely in typed arrays:
 * per slot the id's hash, its place in a byte arena (one byte per code unit when every unit is
 * below 256, as ids mostly are, else two), its event time and model,
 * and an open-addressing table from hash to slot. No entry is a JS object or string, so a
 * million waiting predictions do not pin a million small strings across the heap pages that
 * ingestion promoted them into (which kept those pages, and the process's RSS, from shrinking).
 * An id added again moves to a new slot and leaves its old one empty; the ring, table and arena
 * are rebuilt without the empty slots when the ring or the arena is full.
 */
class PartitionRing {
  size = 0
  private slots = emptySlots(FIRST_CAPACITY)
  private arena = new Uint8Array(FIRST_CAPACITY * 32)
  private arenaEnd = 0
  /** Hash slots: a ring slot, EMPTY or REMOVED; at least twice the ring's capacity. */
  private table = new Int32Array(FIRST_CAPACITY * 2).fill(EMPTY)
  /** Slots taken since the last rebuild, and the oldest slot still in the ring (both count up;
   *  the ring index is their remainder). */
  private next = 0
  private head = 0

  constructor(private readonly max: number) {}

  private get capacity(): number {
    return this.slots.used.length
  }

  /** Adds an entry; returns how many entries were evicted to make room. */
  add(id: string, eventTime: number, model: number): number {
    const hash = hashId(id)
    const old = this.find(id, hash)
    if (old !== EMPTY) this.remove(old)
    let evicted = 0
    while (this.size >= this.max) evicted += this.dropOldest()
    let wide = false
    for (let i = 0; i < id.length && !wide; i++) wide = id.charCodeAt(i) > 0xff
    const bytes = wide ? 2 * id.length : id.length
    if (this.next - this.head >= this.capacity || this.arenaEnd + bytes > this.arena.length) this.rebuild(bytes)
    const slot = this.next % this.capacity
    this.next++
    const { used, hashes, starts, lengths, times, models } = this.slots
    used[slot] = 1
    hashes[slot] = hash
    starts[slot] = this.arenaEnd
    lengths[slot] = wide ? (id.length | WIDE) >>> 0 : id.length
    const arena = this.arena
    const at = this.arenaEnd
    if (wide)
      for (let i = 0; i < id.length; i++) {
        const unit = id.charCodeAt(i)
        arena[at + 2 * i] = unit & 0xff
        arena[at + 2 * i + 1] = unit >>> 8
      }
    else for (let i = 0; i < id.length; i++) arena[at + i] = id.charCodeAt(i)
    this.arenaEnd += bytes
    times[slot] = eventTime
    models[slot] = model
    this.place(slot, hash)
    this.size++
    return evicted
  }

  get(id: string): { eventTime: number; model: number } | undefined {
    const slot = this.find(id, hashId(id))
    return slot === EMPTY ? undefined : { eventTime: this.slots.times[slot]!, model: this.slots.models[slot]! }
  }

  /** The slot holding `id`, or EMPTY. */
  private find(id: string, hash: number): number {
    const mask = this.table.length - 1
    for (let pos = hash & mask; ; pos = (pos + 1) & mask) {
      const slot = this.table[pos]!
      if (slot === EMPTY) return EMPTY
      if (slot >= 0 && this.slots.hashes[slot] === hash && this.holds(slot, id)) return slot
    }
  }

  private holds(slot: number, id: string): boolean {
    const length = this.slots.lengths[slot]!
    const start = this.slots.starts[slot]!
    const arena = this.arena
    if (length === id.length) {
      for (let i = 0; i < id.length; i++) if (arena[start + i] !== id.charCodeAt(i)) return false
      return true
    }
    if (length !== (id.length | WIDE) >>> 0) return false
    for (let i = 0; i < id.length; i++) if (arena[start + 2 * i]! + 256 * arena[start + 2 * i + 1]! !== id.charCodeAt(i)) return false
    return true
  }

  /** Bytes a slot's id takes in the arena. */
  private bytesOf(slot: number): number {
    const length = this.slots.lengths[slot]!
    return length >= WIDE ? 2 * (length - WIDE) : length
  }

  private place(slot: number, hash: number): void {
    const mask = this.table.length - 1
    let pos = hash & mask
    while (this.table[pos]! >= 0) pos = (pos + 1) & mask
    this.table[pos] = slot
  }

  private remove(slot: number): void {
    const mask = this.table.length - 1
    let pos = this.slots.hashes[slot]! & mask
    while (this.table[pos] !== slot) pos = (pos + 1) & mask
    this.table[pos] = REMOVED
    this.slots.used[slot] = 0
    this.size--
  }

  /** Frees the oldest slot; 1 when it held an entry. */
  private dropOldest(): number {
    const slot = this.head % this.capacity
    this.head++
    if (!this.slots.used[slot]) return 0
    this.remove(slot)
    return 1
  }

  /**
   * The entries move, in order and without the empty slots, into a ring twice as large when they
   * fill more than half of it (else one as large), a fresh table, and an arena with room for
   * `extra` more bytes and a ring's worth of ids as long as those held.
   */
  private rebuild(extra: number): void {
    const capacity = this.size > this.capacity / 2 ? this.capacity * 2 : this.capacity
    let held = 0
    for (let k = this.head; k < this.next; k++) {
      const slot = k % this.capacity
      if (this.slots.used[slot]) held += this.bytesOf(slot)
    }
    const perId = this.size > 0 ? held / this.size : extra
    const arena = new Uint8Array(Math.ceil(held + extra + (capacity - this.size) * perId * 1.25) + 16)
    const old = this.slots
    const slots = emptySlots(capacity)
    let to = 0
    let end = 0
    for (let k = this.head; k < this.next; k++) {
      const from = k % this.capacity
      if (!old.used[from]) continue
      const bytes = this.bytesOf(from)
      arena.set(this.arena.subarray(old.starts[from]!, old.starts[from]! + bytes), end)
      slots.used[to] = 1
      slots.hashes[to] = old.hashes[from]!
      slots.starts[to] = end
      slots.lengths[to] = old.lengths[from]!
      slots.times[to] = old.times[from]!
      slots.models[to] = old.models[from]!
      end += bytes
      to++
    }
    this.slots = slots
    this.arena = arena
    this.arenaEnd = end
    this.head = 0
    this.next = to
    this.table = new Int32Array(capacity * 2).fill(EMPTY)
    for (let slot = 0; slot < to; slot++) this.place(slot, slots.hashes[slot]!)
  }
}

/**
 * Recent predictions by prediction_id, per assigned partition, each partition bounded by count
 * (least recently inserted evicted first). Labels for older predictions are looked up in
 * ClickHouse. A revoked partition's entries are dropped whole. Model id and version pairs are
 * interned: a model has few versions, and each prediction then holds a number, not two strings.
 */
export class PredictionIndex {
  private readonly partitions = new Map<number, PartitionRing>()
  private readonly modelKeys = new Map<string, Map<string, number>>()
  private readonly models: { model_id: string; model_version: string }[] = []
  private evicted = 0

  constructor(private readonly maxPerPartition: number) {}

  add(partition: number, predictionId: string, prediction: IndexedPrediction): void {
    let ring = this.partitions.get(partition)
    if (!ring) {
      ring = new PartitionRing(this.maxPerPartition)
      this.partitions.set(partition, ring)
    }
    this.evicted += ring.add(predictionId, prediction.event_time, this.modelRef(prediction.model_id, prediction.model_version))
  }

  get(partition: number, predictionId: string): IndexedPrediction | undefined {
    const hit = this.partitions.get(partition)?.get(predictionId)
    if (!hit) return undefined
    const model = this.models[hit.model]!
    return { model_id: model.model_id, model_version: model.model_version, event_time: hit.eventTime }
  }

  dropPartition(partition: number): void {
    this.partitions.delete(partition)
  }

  size(): number {
    let total = 0
    for (const ring of this.partitions.values()) total += ring.size
    return total
  }

  evictions(): number {
    return this.evicted
  }

  /** Two maps, not one keyed by the pair: a key built per prediction was a string allocated and
   *  hashed per add. */
  private modelRef(modelId: string, version: string): number {
    let versions = this.modelKeys.get(modelId)
    if (!versions) {
      versions = new Map()
      this.modelKeys.set(modelId, versions)
    }
    let ref = versions.get(version)
    if (ref === undefined) {
      ref = this.models.length
      this.models.push({ model_id: modelId, model_version: version })
      versions.set(version, ref)
    }
    return ref
  }
}
