/** How far the consumer group has read one partition (its latest batch). */
export interface PartitionState {
  partition: number
  /** The latest batch reached the end of the partition. */
  caughtUp: boolean
}

/** One stored figure of a model's progress on a partition (model_partition_progress). */
export interface ModelProgressRow {
  model_id: string
  partition: number
  kind: 'event_time' | 'read_at' | 'first_read' | string
  value: number
}

/**
 * Each model's low watermark in event time: the least, over the topic's `expected` partitions, of
 * the newest event time of the model read there. A partition read to its end on which the model
 * has had nothing for `idleMs` (counted from the model's first read by the latest process where
 * it never had a record) holds nothing back: Infinity. A partition never read at all holds
 * everything: -Infinity.
 */
export function modelLows(
  modelIds: string[],
  partitions: PartitionState[],
  expected: number,
  rows: ModelProgressRow[],
  now: number,
  idleMs: number,
): Map<string, number> {
  const progress = new Map<string, { event_time: number; read_at: number }>()
  const since = new Map<string, number>()
  for (const r of rows) {
    if (r.kind === 'first_read') {
      since.set(r.model_id, Math.min(since.get(r.model_id) ?? Infinity, r.value))
      continue
    }
    const key = `${r.model_id}\u0000${r.partition}`
    const p = progress.get(key) ?? { event_time: -Infinity, read_at: -Infinity }
    if (r.kind === 'event_time') p.event_time = r.value
    else if (r.kind === 'read_at') p.read_at = r.value
    progress.set(key, p)
  }
  const out = new Map<string, number>()
  for (const id of modelIds) {
    if (new Set(partitions.map((p) => p.partition)).size < expected) {
      out.set(id, -Infinity)
      continue
    }
    // A partition read to its end says nothing for a moment while producers may still write the
    // model's next records to it: only a model quiet there for idleMs stops it holding windows.
    const lows = partitions.map((state) => {
      const p = progress.get(`${id}\u0000${state.partition}`)
      const quietSince = p ? p.read_at : (since.get(id) ?? -Infinity)
      return state.caughtUp && now - quietSince >= idleMs ? Infinity : (p?.event_time ?? -Infinity)
    })
    out.set(id, Math.min(...lows))
  }
  return out
}
