/**
 * A Map that holds at most `max` entries: setting a key makes it the newest, and setting one
 * more than `max` forgets the oldest. For state whose loss only costs repeated work (what was
 * already done, seen or computed), so that it cannot grow with the stream.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>()

  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size
  }

  has(key: K): boolean {
    return this.entries.has(key)
  }

  get(key: K): V | undefined {
    return this.entries.get(key)
  }

  set(key: K, value: V): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as K)
  }

  delete(key: K): boolean {
    return this.entries.delete(key)
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries[Symbol.iterator]()
  }
}
