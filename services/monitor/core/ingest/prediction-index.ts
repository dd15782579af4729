/** Where a prediction sits: enough to find the windows a label for it updates. */
export interface IndexedPrediction {
  model_id: string
  model_version: string
  event_time: number
}

/**
 * Recent predictions by prediction_id, per assigned partition, each partition bounded by count
 * (least recently inserted evicted first; a Map keeps insertion order). Labels for older
 * predictions are looked up in ClickHouse. A revoked partition's entries are dropped whole.
 */
export class PredictionIndex {
  private readonly partitions = new Map<number, Map<string, IndexedPrediction>>()
  private evicted = 0

  constructor(private readonly maxPerPartition: number) {}

  add(partition: number, predictionId: string, prediction: IndexedPrediction): void {
    let entries = this.partitions.get(partition)
    if (!entries) {
      entries = new Map()
      this.partitions.set(partition, entries)
    }
    entries.delete(predictionId)
    entries.set(predictionId, prediction)
    if (entries.size > this.maxPerPartition) {
      const oldest = entries.keys().next().value as string
      entries.delete(oldest)
      this.evicted++
    }
  }

  get(partition: number, predictionId: string): IndexedPrediction | undefined {
    return this.partitions.get(partition)?.get(predictionId)
  }

  dropPartition(partition: number): void {
    this.partitions.delete(partition)
  }

  size(): number {
    let total = 0
    for (const entries of this.partitions.values()) total += entries.size
    return total
  }

  evictions(): number {
    return this.evicted
  }
}
