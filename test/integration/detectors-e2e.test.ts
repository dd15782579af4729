import type { Kafka } from 'kafkajs'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import { readTopic } from '../../services/shared/kafka/read-topic.ts'
import type { TopicNames } from '../../services/shared/kafka/topics.ts'
import { createAlertDelivery, listAlerts } from '../../services/monitor/run/alerting/index.ts'
import { createMonitorService } from '../../services/monitor/run/monitor-service.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import { HOUR, plannedTraffic, writeDetectorModelConfig, type HourPlan } from '../support/detector-traffic.ts'
import { ALERTMANAGER_URL, freshClickHouse, freshTopics, groupCaughtUp, testLogger, uniqueId, waitFor, windowsSettled } from '../support/harness.ts'
import { produceEmissions } from '../support/produce.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'
import { defaultMonitorSettings } from '../../services/monitor/run/monitor-settings.ts'

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

interface AlertRow {
  alert_id: string
  kind: string
  subject: string
  status: string
  first_seen: number
  last_seen: number
  evidence_names: string[]
}

async function alerts(ch: ClickHouse, modelId: string): Promise<AlertRow[]> {
  return ch.query<AlertRow>(
    `SELECT alert_id, kind, subject, status, first_seen, last_seen, evidence_names FROM ${ch.table('alerts')} FINAL WHERE model_id = ${lit(modelId)} ORDER BY first_seen`,
  )
}

/** Runs a monitor (with Alertmanager delivery) over the topics until `until` holds after everything is consumed. */
async function monitorRun(
  kafka: Kafka,
  ch: ClickHouse,
  topics: TopicNames,
  configPath: string,
  groupId: string,
  modelId: string,
  steps: { produce: Parameters<typeof produceEmissions>[3]; then?: () => Promise<void> }[],
): Promise<void> {
  const logger = testLogger('monitor')
  const metrics = new Registry()
  const producer = await createProducer(kafka)
  const delivery = createAlertDelivery({ alertmanagerUrl: ALERTMANAGER_URL, logger, registry: metrics })
  const codec = EventCodec.forRegistry(registry.url)
  const service = createMonitorService({
    kafka,
    ch,
    codec,
    producer,
    topics,
    models: loadRuntimeModels(loadDriftgateConfig(configPath)),
    logger,
    registry: metrics,
    alerts: delivery,
    settings: defaultMonitorSettings({ groupId, maxBatchSize: 10_000, lingerMs: 100 }),
  })
  try {
    await service.start()
    for (const step of steps) {
      await produceEmissions(kafka, codec, topics, step.produce)
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions, topics.labels]), {
        timeoutMs: 600_000,
        intervalMs: 500,
        what: 'the monitor to catch up',
      })
      await waitFor(() => windowsSettled(ch, modelId, 300_000), { timeoutMs: 30_000, what: 'windows to settle' })
      await delivery.whenIdle()
      await step.then?.()
    }
  } finally {
    await service.stop()
    await delivery.close()
    await producer.close()
  }
}

describe('detectors end to end (Kafka, monitor, ClickHouse, Alertmanager)', () => {
  it('drift injected in 2 of 10 features gives one drift alert naming exactly those two within one window; a null spike gives a data-quality alert; each fires once, resolves once, and Alertmanager lists it while it fires', async () => {
    const id = uniqueId()
    const modelId = `det-${id}`
    const { kafka, topics } = await freshTopics(id)
    const { ch, drop } = await freshClickHouse(id)
    const start = Math.floor(Date.now() / HOUR) * HOUR - 72 * HOUR
    const driftFrom = 12
    const plan: HourPlan[] = Array.from({ length: 40 }, (_, h) => ({
      count: 1500,
      shift: h >= driftFrom && h < driftFrom + 6 ? { f3: 0.8, f7: -0.8 } : undefined,
      nulls: h >= 24 && h < 28 ? { f5: 0.5 } : undefined,
    }))
    const traffic = plannedTraffic(1, modelId, start, plan)
    const firstPart = traffic.filter((e) => e.at < start + (driftFrom + 3) * HOUR)
    const rest = traffic.filter((e) => e.at >= start + (driftFrom + 3) * HOUR)
    const T = start + driftFrom * HOUR

    let driftWhileFiring: AlertRow | undefined
    await monitorRun(kafka, ch, topics, writeDetectorModelConfig(modelId), `g-${id}`, modelId, [
      {
        produce: firstPart,
        then: async () => {
          // Windows T and T+1 are closed now (T+2 is open): the drift alert must be firing.
          driftWhileFiring = await waitFor(async () => (await alerts(ch, modelId)).find((a) => a.kind === 'drift' && a.status === 'firing'), {
            timeoutMs: 30_000,
            what: 'a firing drift alert',
          })
          const listed = await waitFor(
            async () => (await listAlerts(ALERTMANAGER_URL, { filter: [`alert_id="${driftWhileFiring!.alert_id}"`] })).length === 1,
            { timeoutMs: 30_000, what: 'Alertmanager to list the drift alert' },
          )
          expect(listed).toBe(true)
        },
      },
      { produce: rest },
    ])

    const all = await alerts(ch, modelId)
    const drift = all.filter((a) => a.kind === 'drift')
    expect(drift).toHaveLength(1)
    expect(drift[0]!.alert_id).toBe(driftWhileFiring!.alert_id)
    expect(drift[0]!.first_seen).toBe(T)
    expect([...drift[0]!.evidence_names].sort()).toEqual(['f3', 'f7'])
    expect(drift[0]!.status).toBe('resolved')

    const quality = all.filter((a) => a.kind === 'data_quality')
    expect(quality.map((a) => ({ subject: a.subject, evidence: a.evidence_names, from: a.first_seen, status: a.status }))).toEqual([
      { subject: 'null_rate', evidence: ['f5'], from: start + 24 * HOUR, status: 'resolved' },
    ])

    // Fired once and resolved once: one alert id per episode on the triggers topic, one resolution each.
    const triggers = await readTopic(kafka, topics.triggers, { toEnd: true, timeoutMs: 5_000 })
    const codec = EventCodec.forRegistry(registry.url)
    const decoded = await Promise.all(triggers.map(async (r) => (await codec.decode(r.value, 'MonitorTrigger')).event))
    for (const alert of [...drift, ...quality]) {
      const events = decoded.filter((t) => t.alert_id === alert.alert_id)
      expect(
        events.filter((t) => t.status === 'resolved'),
        alert.subject,
      ).toHaveLength(1)
      expect(events[0]!.status).toBe('firing')
    }
    expect(new Set(decoded.filter((t) => t.kind === 'drift').map((t) => t.alert_id)).size).toBe(1)
    expect(await listAlerts(ALERTMANAGER_URL, { filter: [`alert_id="${drift[0]!.alert_id}"`] })).toHaveLength(0)
    await drop()
  }, 600_000)

  it('50 stationary windows of 10,000 predictions each give no drift alert', async () => {
    const id = uniqueId()
    const modelId = `stat-${id}`
    const { kafka, topics } = await freshTopics(id)
    const { ch, drop } = await freshClickHouse(id)
    const start = Math.floor(Date.now() / HOUR) * HOUR - 80 * HOUR
    const traffic = plannedTraffic(2, modelId, start, [...Array.from({ length: 50 }, () => ({ count: 10_000 })), { count: 50 }])
    await monitorRun(kafka, ch, topics, writeDetectorModelConfig(modelId), `g-${id}`, modelId, [{ produce: traffic }])
    const closed = await ch.query<{ n: number }>(
      `SELECT count() AS n FROM ${ch.table('window_summary')} FINAL WHERE model_id = ${lit(modelId)} AND closed = 1 AND volume = 10000`,
    )
    expect(closed[0]!.n).toBe(50)
    const evaluated = await ch.query<{ n: number }>(`SELECT count() AS n FROM ${ch.table('window_evaluations')} FINAL WHERE model_id = ${lit(modelId)}`)
    expect(evaluated[0]!.n).toBe(50)
    expect((await alerts(ch, modelId)).filter((a) => a.kind === 'drift' || a.kind === 'prediction_drift')).toEqual([])
    await drop()
  }, 900_000)

  it('a daily cycle in volume gives no anomaly alert; a 70% drop does', async () => {
    const id = uniqueId()
    const modelId = `cyc-${id}`
    const { kafka, topics } = await freshTopics(id)
    const { ch, drop } = await freshClickHouse(id)
    const days = 9
    const start = Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR - (days + 1) * 24 * HOUR
    const cycle = (h: number): number => Math.round(300 * (1 + 0.6 * Math.sin((2 * Math.PI * (h % 24)) / 24)))
    const dropAt = (days - 1) * 24 + 14
    const plan = Array.from({ length: days * 24 }, (_, h) => ({ count: h >= dropAt && h < dropAt + 3 ? Math.round(cycle(h) * 0.3) : cycle(h) }))
    const traffic = plannedTraffic(3, modelId, start, plan)
    let beforeDrop: AlertRow[] = []
    await monitorRun(kafka, ch, topics, writeDetectorModelConfig(modelId), `g-${id}`, modelId, [
      { produce: traffic.filter((e) => e.at < start + dropAt * HOUR), then: async () => void (beforeDrop = await alerts(ch, modelId)) },
      { produce: traffic.filter((e) => e.at >= start + dropAt * HOUR) },
    ])
    expect(beforeDrop.filter((a) => a.kind === 'anomaly' && a.subject === 'volume')).toEqual([])
    const volume = (await alerts(ch, modelId)).filter((a) => a.kind === 'anomaly' && a.subject === 'volume')
    expect(volume).toHaveLength(1)
    expect(volume[0]!.first_seen).toBe(start + dropAt * HOUR)
    await drop()
  }, 600_000)
})
