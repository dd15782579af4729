import { randomBytes } from 'node:crypto'
import type { Kafka } from 'kafkajs'
import { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { migrate } from '../../services/shared/clickhouse/migrate.ts'
import { createKafka } from '../../services/shared/kafka/kafka-client.ts'
import { ensureTopics, topicNames, topicSpecs, type TopicNames } from '../../services/shared/kafka/topics.ts'
import { createLogger, type Logger } from '../../services/shared/logging/logger.ts'

export const KAFKA_BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
export const CLICKHOUSE_URL = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123'
export const ALERTMANAGER_URL = process.env.ALERTMANAGER_URL ?? `http://127.0.0.1:${process.env.ALERTMANAGER_PORT ?? 9093}`

export function uniqueId(): string {
  return randomBytes(4).toString('hex')
}

export function testLogger(name = 'test'): Logger {
  return createLogger(name, process.env.TEST_LOG_LEVEL ?? 'warn')
}

/** A fresh, migrated database of its own (dropped by the returned cleanup). */
export async function freshClickHouse(id = uniqueId()): Promise<{ ch: ClickHouse; drop(): Promise<void> }> {
  const ch = new ClickHouse({ url: CLICKHOUSE_URL, database: `t_${id}` })
  await migrate(ch)
  return {
    ch,
    async drop() {
      await ch.command(`DROP DATABASE IF EXISTS ${ch.database}`)
      await ch.close()
    },
  }
}

/** Kafka client plus a fresh set of the service's topics under a random prefix. */
export async function freshTopics(id = uniqueId(), partitions = 6): Promise<{ kafka: Kafka; topics: TopicNames; prefix: string }> {
  const prefix = `t-${id}-`
  const kafka = createKafka({ brokers: KAFKA_BROKERS, clientId: `test-${id}` }, testLogger('kafka'))
  const topics = topicNames(prefix)
  await ensureTopics(kafka, topicSpecs(topics, partitions))
  return { kafka, topics, prefix }
}

/** Polls `check` until it returns a truthy value (returned) or the time is up. */
export async function waitFor<T>(check: () => Promise<T> | T, options: { timeoutMs?: number; intervalMs?: number; what: string }): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
      last = value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200))
  }
}

/** True once the group has committed offsets at the end of every partition of the topics. */
export async function groupCaughtUp(kafka: Kafka, groupId: string, topics: string[]): Promise<boolean> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic)
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
      for (const end of ends) {
        const c = committed?.partitions.find((p) => p.partition === end.partition)
        const at = c && c.offset !== '-1' ? BigInt(c.offset) : 0n
        if (at < BigInt(end.high)) return false
      }
    }
    return true
  } finally {
    await admin.disconnect()
  }
}

/**
 * True when no window of the model is still open although the model's data has moved past its
 * close time (the monitor closes such windows on its own shortly after the partitions that held
 * them open have been read).
 */
export async function windowsSettled(ch: ClickHouse, modelId: string, latenessMs: number): Promise<boolean> {
  const rows = await ch.query<{ n: number }>(
    `SELECT count() AS n FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = '${modelId}' AND closed = 0
       AND window_start + window_size_ms + ${latenessMs} <= (SELECT max(event_time) FROM ${ch.table('predictions')} WHERE model_id = '${modelId}')`,
  )
  return rows[0]?.n === 0
}
