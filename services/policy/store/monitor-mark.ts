import type { Admin, Kafka } from 'kafkajs'
import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import type { TopicNames } from '../../shared/kafka/topics.ts'
import { ComputedProgress } from '../../shared/store/computed-progress.ts'
import type { MonitorMark } from '../core/decision-steps.ts'

/** Partition counts change rarely (topics grow, never shrink): read again after this long. */
const METADATA_TTL_MS = 60_000

/**
 * The monitor's progress as the policy reads it: the finished data time over every partition of
 * the predictions and labels topics (from computed_progress, written by the monitor group), and
 * the triggers topic's end offsets.
 */
export function createMonitorMark(kafka: Kafka, ch: ClickHouse, topics: TopicNames, monitorGroupId: string): MonitorMark & { close(): Promise<void> } {
  const progress = new ComputedProgress(ch, monitorGroupId)
  let admin: Admin | null = null
  let connected: Promise<void> | null = null
  let counts: { at: number; partitions: Map<string, number> } | null = null
  const connect = async (): Promise<Admin> => {
    admin ??= kafka.admin()
    connected ??= admin.connect().catch((error: unknown) => {
      connected = null
      throw error
    })
    await connected
    return admin
  }
  const partitionCounts = async (): Promise<Map<string, number>> => {
    if (counts && Date.now() - counts.at < METADATA_TTL_MS) return counts.partitions
    const a = await connect()
    const metadata = await a.fetchTopicMetadata({ topics: [topics.predictions, topics.labels] })
    counts = { at: Date.now(), partitions: new Map(metadata.topics.map((t) => [t.name, t.partitions.length])) }
    return counts.partitions
  }
  return {
    async finished() {
      return progress.through(await partitionCounts())
    },
    async triggerEnds() {
      const a = await connect()
      const ends = await a.fetchTopicOffsets(topics.triggers)
      return new Map(ends.map((e) => [e.partition, BigInt(e.high)]))
    },
    async close() {
      if (connected) await connected.then(() => admin?.disconnect()).catch(() => undefined)
    },
  }
}
