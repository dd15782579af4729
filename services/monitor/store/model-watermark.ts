import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { PartitionProgress } from '../../shared/kafka/batch-consumer.ts'
import { modelLows } from '../core/windows/model-lows.ts'

/** The newest event time of one model's predictions read from one partition in a batch. */
export interface ModelProgress {
  model_id: string
  partition: number
  maxEventTime: number
}

/**
 * Each model's low watermark in event time: the least, over the predictions topic's partitions,
 * of the newest event time of that model read from it. A partition read to its end on which the
 * model has had nothing for `idleMs` (counted from the model's first record read by this process
 * where it never had one) holds nothing back (Infinity). Per model, so that another
 * model's newer records, live beside a backfill, never make a window look complete. Kept in
 * ClickHouse so that every instance of the group sees every partition's progress.
 */
export class ModelWatermark {
  /** Model × partition pairs whose first read by this process is recorded. */
  private readonly firstRecorded = new Set<string>()

  constructor(
    private readonly ch: ClickHouse,
    private readonly group: string,
    private readonly topic: string,
    /** The predictions topic's partition count. */
    readonly partitions: number,
    private readonly now: () => number = Date.now,
    /** How long a model must have had nothing new on a partition read to its end before that
     *  partition stops holding its windows open. */
    private readonly idleMs = 10_000,
  ) {}

  /** After a batch's rows are stored: how far it read each partition (the newest timestamp it
   *  stored there: a dead-lettered record's says nothing), and each model on it (one entry per
   *  model and partition). */
  async record(progress: PartitionProgress[], models: ModelProgress[] = []): Promise<void> {
    const latest = new Map<number, PartitionProgress>()
    for (const p of progress) {
      if (p.topic !== this.topic) continue
      const seen = latest.get(p.partition)
      latest.set(p.partition, { ...p, maxTimestamp: Math.max(p.maxTimestamp, seen?.maxTimestamp ?? 0), caughtUp: p.caughtUp && (seen?.caughtUp ?? true) })
    }
    const updatedAt = this.now()
    const base = { consumer_group: this.group, topic: this.topic }
    const key = (m: ModelProgress): string => `${m.model_id}\u0000${m.partition}`
    const first = models.filter((m) => !this.firstRecorded.has(key(m)))
    await Promise.all([
      this.ch.insert('model_partition_progress', [
        ...models.flatMap((m) => [
          { ...base, model_id: m.model_id, partition: m.partition, kind: 'event_time', value: Math.max(0, m.maxEventTime) },
          { ...base, model_id: m.model_id, partition: m.partition, kind: 'read_at', value: updatedAt },
        ]),
        ...first.map((m) => ({ ...base, model_id: m.model_id, partition: m.partition, kind: 'first_read', value: updatedAt })),
      ]),
      this.ch.insert(
        'partition_progress',
        [...latest.values()].map((p) => ({
          ...base,
          partition: p.partition,
          max_timestamp: p.maxTimestamp,
          caught_up: p.caughtUp ? 1 : 0,
          updated_at: updatedAt,
        })),
      ),
    ])
    for (const m of first) this.firstRecorded.add(key(m))
  }

  /** Partitions found to have nothing to read (at assignment): they hold no window back. */
  async markCaughtUp(partitions: number[]): Promise<void> {
    await this.record(partitions.map((partition) => ({ topic: this.topic, partition, maxTimestamp: 0, caughtUp: true })))
  }

  /** The low watermark (event time) of each of these models. */
  async lows(modelIds: string[]): Promise<Map<string, number>> {
    if (modelIds.length === 0) return new Map()
    const where = `consumer_group = ${lit(this.group)} AND topic = ${lit(this.topic)}`
    const [partitions, models] = await Promise.all([
      this.ch.query<{ partition: number; caught_up: number }>(
        `SELECT partition, argMax(caught_up, updated_at) AS caught_up FROM ${this.ch.table('partition_progress')} WHERE ${where} GROUP BY partition`,
      ),
      this.ch.query<{ model_id: string; partition: number; kind: string; value: number }>(
        `SELECT model_id, partition, kind, max(value) AS value FROM ${this.ch.table('model_partition_progress')}
         WHERE ${where} AND model_id IN (${modelIds.map(lit).join(', ')}) GROUP BY model_id, partition, kind`,
      ),
    ])
    return modelLows(
      modelIds,
      partitions.map((r) => ({ partition: Number(r.partition), caughtUp: Number(r.caught_up) === 1 })),
      this.partitions,
      models.map((r) => ({ ...r, partition: Number(r.partition), value: Number(r.value) })),
      this.now(),
      this.idleMs,
    )
  }
}
