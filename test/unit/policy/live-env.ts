import type { Kafka } from 'kafkajs'
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import type { ClickHouse } from '../../../services/shared/clickhouse/client.ts'
import { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import type { MonitorTrigger, RetrainRequest } from '../../../services/shared/events/types.ts'
import { createProducer, type RecordProducer } from '../../../services/shared/kafka/producer.ts'
import { readTopic } from '../../../services/shared/kafka/read-topic.ts'
import type { TopicNames } from '../../../services/shared/kafka/topics.ts'
import { createPolicyService, type PolicyService, type PolicyServiceDeps } from '../../../services/policy/run/policy-service.ts'
import type { PolicyConfig } from '../../../services/policy/core/policy-config.ts'
import type { WindowFacts } from '../../../services/policy/core/decision-context.ts'
import { startRegistryDouble, type RegistryDouble } from '../../support/schema-registry-double.ts'
import { freshClickHouse, freshTopics, groupCaughtUp, testLogger, uniqueId, waitFor } from '../../support/harness.ts'
import { MODEL } from './fixtures.ts'
import { alertEventRow, alertRow, labelHealthRows, windowHistoryRow, windowSummaryRow } from './seed-rows.ts'

// The policy service against the real local Kafka and ClickHouse, for the integration tests
// that run it (through useLiveEnvs): a fresh database and topics with random names, the
// monitor's tables seeded from plain data, triggers produced as Avro, and a clock the test sets.

export interface LiveEnv {
  id: string
  ch: ClickHouse
  kafka: Kafka
  topics: TopicNames
  codec: EventCodec
  clock: { t: number }
  groupId: string
  seed(data: {
    windows?: WindowFacts[]
    /** The model version the windows are of (default v1). */
    version?: string
    alerts?: MonitorTrigger[]
    labelRate?: { until: number; hours: number; perHour: number }
  }): Promise<void>
  /** Produces triggers as the monitor derived them at the clock's time (their data_time). */
  send(...triggers: MonitorTrigger[]): Promise<void>
  start(policy: PolicyConfig, extra?: Partial<PolicyServiceDeps>): Promise<PolicyService>
  /** Waits until `n` distinct trigger states are recorded and the group committed past them. */
  processed(n: number): Promise<void>
  /** Messages on the retrain-requests topic (raw count, duplicates included). */
  rawRequestCount(): Promise<number>
  requestsOnTopic(n: number): Promise<RetrainRequest[]>
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>
  /** Stops the services and drops the database; a second call waits for the first. */
  close(): Promise<void>
}

export interface LiveEnvs {
  /** A fresh environment, closed after the test that opened it (after the file, when a beforeAll opened it). */
  open(): Promise<LiveEnv>
  /** The environment the running test opened last, if any. */
  current(): LiveEnv | null
}

/** Registers the hooks every live-policy test file needs: a schema registry double for the file,
 *  and the closing of each environment opened through it. */
export function useLiveEnvs(): LiveEnvs {
  let registry: RegistryDouble | null = null
  const forFile: LiveEnv[] = []
  let forTest: LiveEnv[] | null = null
  const closeAll = async (envs: LiveEnv[]): Promise<void> => {
    for (const e of envs.splice(0)) await e.close()
  }
  beforeAll(async () => {
    registry = await startRegistryDouble()
  })
  beforeEach(() => {
    forTest = []
  })
  afterEach(async () => {
    const envs = forTest ?? []
    forTest = null
    await closeAll(envs)
  })
  afterAll(async () => {
    await closeAll(forFile)
    await registry?.close()
  })
  return {
    async open() {
      if (!registry) throw new Error('useLiveEnvs: open() before its beforeAll ran')
      const e = await liveEnv(registry.url)
      ;(forTest ?? forFile).push(e)
      return e
    },
    current: () => forTest?.at(-1) ?? null,
  }
}

async function liveEnv(registryUrl: string): Promise<LiveEnv> {
  const id = uniqueId()
  const { ch, drop } = await freshClickHouse(id)
  const { kafka, topics } = await freshTopics(id)
  const codec = EventCodec.forRegistry(registryUrl)
  const producer: RecordProducer = await createProducer(kafka)
  const services: PolicyService[] = []
  const clock = { t: 0 }
  const groupId = `policy-${id}`
  let closed: Promise<void> | null = null
  const env: LiveEnv = {
    id,
    ch,
    kafka,
    topics,
    codec,
    clock,
    groupId,
    async seed({ windows = [], version = 'v1', alerts = [], labelRate }) {
      const rows = windows.map((w) => windowSummaryRow(w, MODEL, version))
      await ch.insert('window_summary', rows)
      await ch.insert('window_summary_history', rows.map(windowHistoryRow))
      await ch.insert(
        'alerts',
        alerts.map((a) => alertRow(a)),
      )
      await ch.insert('alert_events', alerts.map(alertEventRow))
      if (labelRate) await ch.insert('label_health', labelHealthRows(MODEL, labelRate.until, labelRate.hours, labelRate.perHour))
    },
    async send(...triggers) {
      for (const t of triggers) {
        const stamped = { ...t, data_time: clock.t }
        await producer.send(topics.triggers, [{ key: t.model_id, value: await codec.encode(topics.triggers, 'MonitorTrigger', stamped) }])
      }
    },
    async start(policy, extra = {}) {
      const service = createPolicyService({
        kafka,
        ch,
        codec,
        producer,
        topics,
        policies: new Map([[MODEL, policy]]),
        logger: testLogger('policy'),
        groupId,
        monitorGroupId: null,
        now: () => clock.t,
        topicCheckTimeoutMs: 15_000,
        lingerMs: 50,
        ...extra,
      })
      services.push(service)
      await service.start()
      return service
    },
    async processed(n) {
      await waitFor(async () => Number((await ch.query<{ n: number }>(`SELECT count() AS n FROM ${ch.table('policy_triggers')} FINAL`))[0]?.n) >= n, {
        what: `${n} triggers handled`,
        timeoutMs: 60_000,
      })
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.triggers]), { what: 'offsets committed', timeoutMs: 60_000 })
    },
    async rawRequestCount() {
      const admin = kafka.admin()
      await admin.connect()
      try {
        const offsets = await admin.fetchTopicOffsets(topics.retrainRequests)
        return offsets.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0)
      } finally {
        await admin.disconnect()
      }
    },
    async requestsOnTopic(n) {
      const records = await readTopic(kafka, topics.retrainRequests, { count: n, timeoutMs: 30_000 })
      return Promise.all(records.map(async (r) => (await codec.decode(r.value, 'RetrainRequest')).event))
    },
    rows: (sql) => ch.query(sql.replaceAll('{{db}}', ch.database)),
    close() {
      closed ??= (async () => {
        for (const s of services) await s.stop().catch(() => undefined)
        await producer.close()
        await drop()
      })()
      return closed
    },
  }
  return env
}
