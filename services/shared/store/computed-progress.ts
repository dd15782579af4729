import type { ClickHouse } from '../clickhouse/client.ts'
import { lit } from '../clickhouse/sql.ts'
import type { PartitionMark } from '../records/partition-mark.ts'

export interface StoredMark extends PartitionMark {
  updatedAt: number
}

/**
 * The data time the monitor has finished: the least, over every partition of its topics, of how
 * far it is finished. A partition with no record yet means nothing is known (-Infinity); one that
 * was caught up and has had nothing new for `idleMs` holds nothing back (Infinity): its next
 * records, if any, are newer than anything read so far.
 */
export function finishedThrough(marks: StoredMark[], partitions: Map<string, number>, now: number, idleMs: number): number {
  let low = Infinity
  for (const [topic, count] of partitions) {
    for (let partition = 0; partition < count; partition++) {
      const m = marks.find((x) => x.topic === topic && x.partition === partition)
      if (!m) return -Infinity
      if (m.caughtUp && now - m.updatedAt >= idleMs) continue
      low = Math.min(low, m.maxTimestamp)
    }
  }
  return low
}

/**
 * The monitor's finished data time in ClickHouse (table computed_progress), written by the monitor
 * as its batches settle and read by the policy, which decides about a data time only once the
 * monitor is past it.
 */
export class ComputedProgress {
  constructor(
    private readonly ch: ClickHouse,
    private readonly group: string,
    private readonly now: () => number = Date.now,
    private readonly idleMs = 10_000,
  ) {}

  private lastUpdate = 0

  /** Records partition marks (one per partition; the finished time never moves back when read). */
  async record(marks: PartitionMark[]): Promise<void> {
    if (marks.length === 0) return
    // Strictly increasing: the latest caught_up of a partition is the one with the latest update.
    const updatedAt = (this.lastUpdate = Math.max(this.now(), this.lastUpdate + 1))
    await this.ch.insert(
      'computed_progress',
      marks.map((m) => ({
        consumer_group: this.group,
        topic: m.topic,
        partition: m.partition,
        max_timestamp: m.maxTimestamp,
        caught_up: m.caughtUp ? 1 : 0,
        updated_at: updatedAt,
      })),
    )
  }

  async marks(): Promise<StoredMark[]> {
    // Aliases differ from the column names: ClickHouse resolves an alias before a column.
    const rows = await this.ch.query<{ topic: string; partition: number; finished: number; idle: number; last_update: number }>(
      `SELECT topic, partition, max(max_timestamp) AS finished, argMax(caught_up, updated_at) AS idle, max(updated_at) AS last_update
       FROM ${this.ch.table('computed_progress')}
       WHERE consumer_group = ${lit(this.group)} GROUP BY topic, partition`,
    )
    return rows.map((r) => ({
      topic: r.topic,
      partition: Number(r.partition),
      maxTimestamp: Number(r.finished),
      caughtUp: Number(r.idle) === 1,
      updatedAt: Number(r.last_update),
    }))
  }

  /** The finished data time over the given partitions (topic → partition count). */
  async through(partitions: Map<string, number>): Promise<number> {
    return finishedThrough(await this.marks(), partitions, this.now(), this.idleMs)
  }
}
