/** Where a prediction sits: enough to find the windows a label for it updates. */
export interface IndexedPrediction {
  model_id: string
  model_version: string
  event_time: number
}

const FIRST_CAPACITY = 1024

/**
 * One partition's predictions, oldest first, in a ring of slots: the id maps to its slot (a small
 * integer, stored unboxed), and the slot's event time and model sit in typed arrays. An id added
 * again moves to a new slot and leaves its old one empty; empty slots are dropped when the ring
 * is rebuilt. Most of what an entry costs is the id itself.
 */
class PartitionRing {
  readonly slots = new Map<string, number>()
  private ids: (string | undefined)[] = new Array<string | undefined>(FIRST_CAPACITY)
  private times = new Float64Array(FIRST_CAPACITY)
  private models = new Uint32Array(FIRST_CAPACITY)
  /** Slots taken since the start, and the oldest slot still in the ring (both count up; the
   *  ring index is their remainder). */
  private next = 0
  private head = 0

  constructor(private readonly max: number) {}

  /** Adds an entry; returns how many entries were evicted to make room. */
  add(id: string, eventTime: number, model: number): number {
    const old = this.slots.get(id)
    if (old !== undefined) {
      this.ids[old] = undefined
      this.slots.delete(id)
    }
    let evicted = 0
    while (this.slots.size >= this.max) evicted += this.dropOldest()
    if (this.next - this.head >= this.times.length) this.rebuild()
    const slot = this.next % this.times.length
    this.next++
    this.ids[slot] = id
    this.times[slot] = eventTime
    this.models[slot] = model
    this.slots.set(id, slot)
    return evicted
  }

  get(id: string): { eventTime: number; model: number } | undefined {
    const slot = this.slots.get(id)
    return slot === undefined ? undefined : { eventTime: this.times[slot]!, model: this.models[slot]! }
  }

  /** Frees the oldest slot; 1 when it held an entry. */
  private dropOldest(): number {
    const slot = this.head % this.times.length
    this.head++
    const id = this.ids[slot]
    if (id === undefined) return 0
    this.ids[slot] = undefined
    this.slots.delete(id)
    return 1
  }

  /** Every slot is taken: the entries move, in order and without the empty slots, into a ring
   *  twice as large when they fill more than half of it, else one as large. */
  private rebuild(): void {
    const capacity = this.times.length
    const size = this.slots.size > capacity / 2 ? capacity * 2 : capacity
    const ids = new Array<string | undefined>(size)
    const times = new Float64Array(size)
    const models = new Uint32Array(size)
    let to = 0
    for (let k = this.head; k < this.next; k++) {
      const from = k % capacity
      const id = this.ids[from]
      if (id === undefined) continue
      ids[to] = id
      times[to] = this.times[from]!
      models[to] = this.models[from]!
      this.slots.set(id, to)
      to++
    }
    this.ids = ids
    this.times = times
    this.models = models
    this.head = 0
    this.next = to
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
  private readonly modelKeys = new Map<string, number>()
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
    for (const ring of this.partitions.values()) total += ring.slots.size
    return total
  }

  evictions(): number {
    return this.evicted
  }

  private modelRef(modelId: string, version: string): number {
    const key = `${modelId}\u0000${version}`
    let ref = this.modelKeys.get(key)
    if (ref === undefined) {
      ref = this.models.length
      this.models.push({ model_id: modelId, model_version: version })
      this.modelKeys.set(key, ref)
    }
    return ref
  }
}
