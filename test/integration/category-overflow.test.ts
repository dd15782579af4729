import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import type { PredictionEvent } from '../../services/shared/events/types.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import { createMonitorService } from '../../services/monitor/run/monitor-service.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import { freshClickHouse, freshTopics, groupCaughtUp, testLogger, uniqueId, waitFor } from '../support/harness.ts'
import { HOUR, writeModelConfig } from '../support/monitor-fixture.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'
import { readFeatureStats, readWindowSummaries } from '../support/window-reads.ts'
import { defaultMonitorSettings } from '../../services/monitor/run/monitor-settings.ts'

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

describe('thousands of distinct categorical and segment values in a window', () => {
  it('keeps the configured number of values plus __other__, with the collapsed values and events counted exactly', async () => {
    const id = uniqueId()
    const modelId = `card-${id}`
    const { kafka, topics } = await freshTopics(id)
    const { ch, drop } = await freshClickHouse(id)
    const codec = EventCodec.forRegistry(registry.url)
    const start = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR
    // 1,000 predictions on five frequent values (300, 250, 200, 150, 100) and 4,000 on distinct ids.
    const frequent = [300, 250, 200, 150, 100].flatMap((n, k) => Array.from({ length: n }, () => `top-${k}`))
    const values = [...frequent, ...Array.from({ length: 4_000 }, (_, i) => `id-${i}`)]
    const events: PredictionEvent[] = values.map((country, i) => ({
      prediction_id: `${modelId}-${i}`,
      model_id: modelId,
      model_version: 'v1',
      event_time: start + (i % 3_000) * 1_000,
      numeric_features: { x1: 0, x2: 0, x3: 0 },
      categorical_features: { country, channel: 'web' },
      prediction: { predicted_class: '1', scores: { '0': 0.4, '1': 0.6 }, value: null },
      // 400 'true', 300 'false', 200 'maybe', then 4,100 distinct values.
      segments: { new_entity: i < 400 ? 'true' : i < 700 ? 'false' : i < 900 ? 'maybe' : `s-${i}` },
    }))
    const producer = await createProducer(kafka)
    await producer.send(
      topics.predictions,
      events.map((e) => ({ key: e.prediction_id, value: Buffer.from(JSON.stringify(e)) })),
    )
    const groupId = `monitor-${id}`
    const config = loadDriftgateConfig(writeModelConfig(modelId, '    max_category_values: 5\n    max_segment_values: 3\n'))
    const metrics = new Registry()
    const service = createMonitorService({
      kafka,
      ch,
      codec,
      producer,
      topics,
      models: loadRuntimeModels(config),
      logger: testLogger('monitor'),
      registry: metrics,
      detection: false,
      settings: defaultMonitorSettings({ groupId }),
    })
    try {
      await service.start()
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions]), { timeoutMs: 60_000, what: 'the monitor to read the predictions' })
    } finally {
      await service.stop()
      await producer.close()
    }
    const stats = await readFeatureStats(ch, modelId)
    const country = stats.get(`v1|all|${HOUR}|${start}|country`)
    expect(country, [...stats.keys()].slice(0, 3).join(', ')).toBeDefined()
    expect({
      categories: country!.categories,
      counts: country!.category_counts,
      overflow_values: country!.overflow_values,
      overflow_count: country!.overflow_count,
      count: country!.count,
    }).toEqual({
      categories: ['top-0', 'top-1', 'top-2', 'top-3', 'top-4', '__other__'],
      counts: [300, 250, 200, 150, 100, 4_000],
      overflow_values: 4_000,
      overflow_count: 4_000,
      count: 5_000,
    })
    // All five frequent values and the ids are outside the reference (DE, FR, US, PL): all unseen.
    expect(country!.unseen).toBe(5_000)
    const channel = stats.get(`v1|all|${HOUR}|${start}|channel`)!
    expect({ categories: channel.categories, overflow_values: channel.overflow_values }).toEqual({ categories: ['web'], overflow_values: 0 })
    const summaries = await readWindowSummaries(ch, modelId)
    const volumes = Object.fromEntries(
      [...summaries.values()].filter((r) => r.window_size_ms === HOUR && r.window_start === start).map((r) => [r.segment, r.volume]),
    )
    expect(volumes).toEqual({ all: 5_000, 'new_entity=true': 400, 'new_entity=false': 300, 'new_entity=maybe': 200, 'new_entity=__other__': 4_100 })
    // The feature statistics have the same segments, the collapsed one included.
    expect(stats.get(`v1|new_entity=__other__|${HOUR}|${start}|country`)!.count).toBe(4_100)
    expect([...stats.keys()].filter((k) => k.endsWith(`|${HOUR}|${start}|channel`)).length).toBe(5)
    const segmentGauge = (await metrics.getSingleMetric('driftgate_segment_overflow_events')!.get()).values
    expect(segmentGauge.find((v) => v.labels.attribute === 'new_entity')?.value).toBe(4_100)
    const gauge = (await metrics.getSingleMetric('driftgate_category_overflow_values')!.get()).values
    expect(gauge.find((v) => v.labels.feature === 'country')?.value).toBe(4_000)
    await drop()
  })
})
