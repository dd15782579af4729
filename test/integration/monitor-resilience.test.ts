import { execFileSync } from 'node:child_process'
import type { Kafka } from 'kafkajs'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import type { TopicNames } from '../../services/shared/kafka/topics.ts'
import { createMonitorService } from '../../services/monitor/run/monitor-service.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import { freshClickHouse, freshTopics, groupCaughtUp, testLogger, uniqueId, waitFor, windowsSettled } from '../support/harness.ts'
import { HOUR, writeModelConfig } from '../support/monitor-fixture.ts'
import { killHard, monitorProcessesOfGroup, startMonitorProcess, stopGracefully } from '../support/monitor-process.ts'
import { produceEmissions } from '../support/produce.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'
import { generateTraffic } from '../support/traffic.ts'
import { windowSnapshot } from '../support/window-reads.ts'
import { defaultMonitorSettings } from '../../services/monitor/run/monitor-settings.ts'

// One set of topics with the same traffic; each run reads it with its own consumer group into
// its own database, and every run must end with the same window metrics and alerts as the clean
// one. The periodic join-health job (orphans are judged against the wall clock) is left out.
const PREDICTIONS = 4000
/** allowed_lateness of the fixture model (monitor-fixture.ts). */
const LATENESS = 600_000

let registry: RegistryDouble
let kafka: Kafka
let topics: TopicNames
let prefix: string
let modelId: string
let configPath: string
let clean: Awaited<ReturnType<typeof windowSnapshot>>
const cleanups: (() => Promise<void>)[] = []

async function storedPredictions(ch: ClickHouse): Promise<number> {
  const rows = await ch.query<{ n: number }>(`SELECT uniqExact(prediction_id) AS n FROM ${ch.table('predictions')} WHERE model_id = ${lit(modelId)}`)
  return rows[0]?.n ?? 0
}

async function runInProcess(ch: ClickHouse, groupId: string, duringRun?: () => Promise<void>, metricsRegistry = new Registry()): Promise<void> {
  const config = loadDriftgateConfig(configPath)
  const producer = await createProducer(kafka)
  const service = createMonitorService({
    kafka,
    ch,
    codec: EventCodec.forRegistry(registry.url),
    producer,
    topics,
    models: loadRuntimeModels(config),
    logger: testLogger('monitor'),
    registry: metricsRegistry,
    retry: { initialMs: 200, maxMs: 2_000 },
    settings: defaultMonitorSettings({ groupId, maxBatchSize: 150, lingerMs: 20, labelHealthIntervalMs: 0 }),
  })
  try {
    await service.start()
    await duringRun?.()
    await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions, topics.labels]), { timeoutMs: 180_000, what: `group ${groupId} to catch up` })
    await waitFor(() => windowsSettled(ch, modelId, LATENESS), { timeoutMs: 30_000, what: 'windows to settle' })
  } finally {
    await service.stop()
    await producer.close()
  }
}

beforeAll(async () => {
  registry = await startRegistryDouble()
  const id = uniqueId()
  modelId = `credit-${id}`
  ;({ kafka, topics, prefix } = await freshTopics(id))
  configPath = writeModelConfig(modelId)
  const start = Math.floor(Date.now() / HOUR) * HOUR - 96 * HOUR
  await produceEmissions(
    kafka,
    EventCodec.forRegistry(registry.url),
    topics,
    generateTraffic({ seed: 11, modelId, start, durationMs: 10 * HOUR, count: PREDICTIONS, malformed: 10, driftFrom: start + 5 * HOUR }),
  )
  const { ch, drop } = await freshClickHouse(`${id}_clean`)
  cleanups.push(drop)
  await runInProcess(ch, `clean-${id}`)
  clean = await windowSnapshot(ch, modelId)
  expect(clean.summaries.length).toBeGreaterThan(20)
  // The traffic makes the detectors fire, so alerts are compared too.
  expect(clean.alerts.length).toBeGreaterThan(0)
})

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined)
  await registry.close()
})

describe('monitor: exactly-once results under failure', () => {
  it('a SIGKILL mid-stream (twice) then a restart gives the same window metrics and alerts as the clean run', async () => {
    const id = uniqueId()
    const { ch, drop } = await freshClickHouse(`${id}_kill`)
    cleanups.push(drop)
    const options = { configPath, database: ch.database, topicPrefix: prefix, groupId: `kill-${id}`, registryUrl: registry.url, batchSize: 100 }
    for (const share of [0.25, 0.6]) {
      const child = startMonitorProcess(options)
      await waitFor(async () => (await storedPredictions(ch)) >= PREDICTIONS * share, {
        timeoutMs: 120_000,
        intervalMs: 50,
        what: `${share * 100}% of predictions stored`,
      })
      await killHard(child)
      // Nothing of the killed monitor runs on (it would go on storing and committing).
      expect(monitorProcessesOfGroup(options.groupId)).toEqual([])
    }
    expect(await storedPredictions(ch)).toBeLessThan(PREDICTIONS)
    const child = startMonitorProcess(options)
    try {
      await waitFor(() => groupCaughtUp(kafka, options.groupId, [topics.predictions, topics.labels]), {
        timeoutMs: 180_000,
        what: 'the restarted monitor to catch up',
      })
      await waitFor(() => windowsSettled(ch, modelId, LATENESS), { timeoutMs: 30_000, what: 'windows to settle' })
    } finally {
      await stopGracefully(child)
    }
    expect(await windowSnapshot(ch, modelId)).toEqual(clean)
  })

  it('two monitor processes in one consumer group split the partitions and give the same metrics and alerts as one', async () => {
    const id = uniqueId()
    const { ch, drop } = await freshClickHouse(`${id}_two`)
    cleanups.push(drop)
    const options = { configPath, database: ch.database, topicPrefix: prefix, groupId: `two-${id}`, registryUrl: registry.url, batchSize: 200 }
    const first = startMonitorProcess(options)
    const second = startMonitorProcess(options)
    try {
      await waitFor(() => groupCaughtUp(kafka, options.groupId, [topics.predictions, topics.labels]), { timeoutMs: 180_000, what: 'both monitors to catch up' })
      await waitFor(() => windowsSettled(ch, modelId, LATENESS), { timeoutMs: 30_000, what: 'windows to settle' })
      const admin = kafka.admin()
      await admin.connect()
      const group = await admin.describeGroups([options.groupId])
      await admin.disconnect()
      expect(group.groups[0]!.members.length).toBe(2)
    } finally {
      await Promise.all([stopGracefully(first), stopGracefully(second)])
    }
    expect(monitorProcessesOfGroup(options.groupId)).toEqual([])
    expect(await windowSnapshot(ch, modelId)).toEqual(clean)
  })

  it('ClickHouse stopped for 20 s and restarted: the monitor pauses, retries and loses nothing', async ({ skip }) => {
    skip(process.env.DRIFTGATE_INFRA === 'docker', 'stops the local server (infra/local/clickhouse.sh), not a container')
    const id = uniqueId()
    const { ch, drop } = await freshClickHouse(`${id}_outage`)
    cleanups.push(drop)
    const metrics = new Registry()
    await runInProcess(
      ch,
      `outage-${id}`,
      async () => {
        await waitFor(async () => (await storedPredictions(ch)) >= PREDICTIONS * 0.2, { timeoutMs: 120_000, intervalMs: 50, what: '20% of predictions stored' })
        execFileSync('bash', ['infra/local/clickhouse.sh', 'stop'], { stdio: 'inherit' })
        const down = Date.now()
        await new Promise((resolve) => setTimeout(resolve, 20_000))
        execFileSync('bash', ['infra/local/clickhouse.sh', 'start'], { stdio: 'inherit' })
        expect(Date.now() - down).toBeGreaterThanOrEqual(20_000)
      },
      metrics,
    )
    expect(await windowSnapshot(ch, modelId)).toEqual(clean)
    // The outage shows in the metrics on-call watches, and nothing is left waiting.
    const value = async (name: string): Promise<number> => (await metrics.getSingleMetric(name)!.get()).values[0]?.value ?? 0
    expect(await value('driftgate_window_round_failures_total')).toBeGreaterThan(0)
    expect(await value('driftgate_windows_pending')).toBe(0)
  }, 300_000)
})
