import { Registry } from 'prom-client'
import { defaultMonitorSettings, type MonitorSettings } from '../../services/monitor/run/monitor-settings.ts'
import { createMonitorService } from '../../services/monitor/run/monitor-service.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import { freshClickHouse, freshTopics, groupCaughtUp, testLogger, uniqueId, waitFor } from './harness.ts'
import { writeModelConfig } from './monitor-fixture.ts'

/** A prediction of the fixture model (monitor-fixture.ts). */
export const fixturePrediction = (modelId: string, id: string, eventTime: number, i: number): PredictionEvent => ({
  prediction_id: id,
  model_id: modelId,
  model_version: 'v1',
  event_time: eventTime,
  numeric_features: { x1: i % 7, x2: 1, x3: 2 },
  categorical_features: { country: 'de', channel: 'web' },
  prediction: { predicted_class: '1', scores: { '0': 0.4, '1': 0.6 }, value: null },
  segments: {},
})

/**
 * Fresh topics and database for one fixture model (`extra`: more of its config; `others`: more
 * fixture models beside it, by name), and monitor runs over them: each run starts the monitor,
 * waits until it has read everything sent, runs `during` and stops it.
 */
export async function monitorRun(registryUrl: string, prefix: string, extra = '', others: string[] = []) {
  const id = uniqueId()
  const modelId = `${prefix}-${id}`
  const otherIds = others.map((name) => `${prefix}-${name}-${id}`)
  const { kafka, topics } = await freshTopics(id)
  const { ch, drop } = await freshClickHouse(id)
  const codec = EventCodec.forRegistry(registryUrl)
  const producer = await createProducer(kafka)
  const groupId = `monitor-${id}`
  const models = new Map(
    [modelId, ...otherIds].flatMap((model, i) => [...loadRuntimeModels(loadDriftgateConfig(writeModelConfig(model, i === 0 ? extra : ''))).entries()]),
  )
  const send = (topic: string, events: (PredictionEvent | LabelEvent)[]): Promise<void> =>
    producer.send(
      topic,
      events.map((e) => ({ key: e.prediction_id, value: Buffer.from(JSON.stringify(e)) })),
    )
  /** `instances` monitors in one group; `during` gets their metric registries. */
  const run = async (settings: Partial<MonitorSettings>, during: (registries: Registry[]) => Promise<void>, instances = 1): Promise<void> => {
    const registries = Array.from({ length: instances }, () => new Registry())
    const services = registries.map((registry) =>
      createMonitorService({
        kafka,
        ch,
        codec,
        producer,
        topics,
        models,
        logger: testLogger('monitor'),
        registry,
        openWindowRetryMs: 500,
        settings: defaultMonitorSettings({ groupId, labelHealthIntervalMs: 0, ...settings }),
      }),
    )
    try {
      await Promise.all(services.map((s) => s.start()))
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions, topics.labels]), { timeoutMs: 60_000, what: 'the monitor to catch up' })
      await during(registries)
    } finally {
      await Promise.all(services.map((s) => s.stop()))
    }
  }
  const close = async (): Promise<void> => {
    await producer.close()
    await drop()
  }
  return { modelId, otherIds, kafka, ch, topics, groupId, send, run, close }
}
