import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { PartitionProgress } from '../../shared/kafka/batch-consumer.ts'

/**
 * The low watermark of the predictions topic in record time: the least, over its partitions,
 * of how far the consumer group has read (a partition with nothing newer counts as infinitely
 * far). Kept in ClickHouse so that every instance of the group sees every partition's progress.
 */
export class PartitionWatermark {
  constructor(
    private readonly ch: ClickHouse,
    private readonly group: string,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly now: () => number = Date.now,
    /** How long a partition must have had nothing new before it stops holding windows open. */
    private readonly idleMs = 10_000,
  ) {}

  async record(progress: PartitionProgress[]): Promise<void> {
    const latest = new Map<number, PartitionProgress>()
    for (const p of progress) {
      if (p.topic !== this.topic) continue
      const seen = latest.get(p.partition)
      latest.set(p.partition, { ...p, maxTimestamp: Math.max(p.maxTimestamp, seen?.maxTimestamp ?? 0), caughtUp: p.caughtUp && (seen?.caughtUp ?? true) })
    }
    const updatedAt = this.now()
    await this.ch.insert(
      'partition_progress',
      [...latest.values()].map((p) => ({
        consumer_group: this.group,
        topic: this.topic,
        partition: p.partition,
        max_timestamp: p.maxTimestamp,
        caught_up: p.caughtUp ? 1 : 0,
        updated_at: updatedAt,
      })),
    )
  }

  /** Partitions found to have nothing to read (at assignment): they hold no window back. */
  async markCaughtUp(partitions: number[]): Promise<void> {
    await this.record(partitions.map((partition) => ({ topic: this.topic, partition, maxTimestamp: 0, caughtUp: true })))
  }

  async low(): Promise<number> {
    const rows = await this.ch.query<{ partition: number; max_timestamp: number; caught_up: number; last_update: number }>(
      `SELECT partition, argMax(max_timestamp, updated_at) AS max_timestamp, argMax(caught_up, updated_at) AS caught_up, max(updated_at) AS last_update
       FROM ${this.ch.table('partition_progress')}
       WHERE consumer_group = ${lit(this.group)} AND topic = ${lit(this.topic)} GROUP BY partition`,
    )
    if (rows.length < this.partitions) return -Infinity
    // Being at the end of a partition for a moment says nothing while producers still write to it
    // (its next records may belong to windows other partitions have already passed): only a
    // partition idle for idleMs stops holding windows open.
    const now = this.now()
    return Math.min(...rows.map((r) => (r.caught_up && now - r.last_update >= this.idleMs ? Infinity : r.max_timestamp)))
  }
}
