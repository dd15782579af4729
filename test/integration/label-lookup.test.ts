import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import { createMonitorService } from '../../services/monitor/run/monitor-service.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import { samplePrediction } from '../support/events.ts'
import { freshClickHouse, freshTopics, groupCaughtUp, testLogger, uniqueId, waitFor } from '../support/harness.ts'
import { HOUR, writeModelConfig } from '../support/monitor-fixture.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'
import { defaultMonitorSettings } from '../../services/monitor/run/monitor-settings.ts'
import { findPredictions } from '../../services/monitor/store/prediction-lookup.ts'
import { LOOKUP_BYTES } from '../../services/monitor/store/lookup-chunks.ts'
import { PREDICTION_LAYOUT, type PredictionSource } from '../../services/monitor/core/ingest/event-rows.ts'
import { encodeRows } from '../../services/shared/clickhouse/row-binary.ts'

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

describe('monitor: a label for a prediction stored long ago', () => {
  it('is found in ClickHouse (the prediction is no longer in the join index) and its closed window is recomputed with it; a prediction past the label horizon is not looked for', async () => {
    const id = uniqueId()
    const modelId = `lookup-${id}`
    const { kafka, topics } = await freshTopics(id, 1)
    const { ch, drop } = await freshClickHouse(id)
    const codec = EventCodec.forRegistry(registry.url)
    const producer = await createProducer(kafka)
    const metrics = new Registry()
    // Two days ago: within the 30-day label horizon of the fixture model.
    const windowStart = Math.floor(Date.now() / HOUR) * HOUR - 48 * HOUR
    const prediction = (n: number, eventTime: number): PredictionEvent =>
      samplePrediction({
        prediction_id: `p-${n}`,
        model_id: modelId,
        event_time: eventTime,
        numeric_features: { x1: 0.25, x2: 1, x3: null },
        categorical_features: { country: 'DE', channel: 'web' },
        segments: { new_entity: 'false' },
      })
    // Three predictions in the window, then 40 over the next six hours: they close it and push the
    // first ones out of a join index of five entries.
    const predictions = [0, 1, 2].map((n) => prediction(n, windowStart + n * 60_000))
    for (let n = 3; n < 43; n++) predictions.push(prediction(n, windowStart + HOUR + (n - 3) * 9 * 60_000))
    // And, sent first (so it leaves the index too), one made 40 days ago: a label for it is past
    // the 30-day horizon.
    const ancient = prediction(99, Date.now() - 40 * 24 * HOUR)
    await producer.send(
      topics.predictions,
      await Promise.all(
        [ancient, ...predictions].map(async (p) => ({
          key: p.prediction_id,
          value: await codec.encode(topics.predictions, 'PredictionEvent', p),
          timestamp: p === ancient ? Date.now() : p.event_time + 1_000,
        })),
      ),
    )
    const config = loadDriftgateConfig(writeModelConfig(modelId))
    const groupId = `monitor-${id}`
    const service = createMonitorService({
      kafka,
      ch,
      codec,
      producer,
      topics,
      models: loadRuntimeModels(config),
      logger: testLogger('monitor'),
      registry: metrics,
      settings: defaultMonitorSettings({ groupId, maxBatchSize: 10, lingerMs: 20, indexPerPartition: 5, labelHealthIntervalMs: 0 }),
    })
    const labeled = async (): Promise<{ labeled: number; closed: number } | undefined> =>
      (
        await ch.query<{ labeled: number; closed: number }>(
          `SELECT sum(labeled_count) AS labeled, min(closed) AS closed FROM ${ch.table('window_summary')} FINAL
           WHERE model_id = ${lit(modelId)} AND window_size_ms = ${HOUR} AND window_start = ${windowStart} AND segment = 'all' HAVING count() > 0`,
        )
      )[0]
    const joined = async (source: string): Promise<number> =>
      (await metrics.getSingleMetric('driftgate_labels_joined_total')!.get()).values.find((v) => v.labels.source === source)?.value ?? 0
    try {
      await service.start()
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions, topics.labels]), {
        timeoutMs: 60_000,
        what: 'the monitor to read the predictions',
      })
      await waitFor(async () => (await labeled())?.closed === 1, { timeoutMs: 30_000, what: 'the window to close' })
      expect(await labeled()).toEqual({ labeled: 0, closed: 1 })

      const label = (predictionId: string): LabelEvent => ({
        prediction_id: predictionId,
        model_id: modelId,
        label_time: Date.now() - 1_000,
        label_class: '1',
        label_value: null,
      })
      await producer.send(
        topics.labels,
        await Promise.all(
          [label('p-1'), label(ancient.prediction_id)].map(async (l) => ({
            key: l.prediction_id,
            value: await codec.encode(topics.labels, 'LabelEvent', l),
            timestamp: Date.now(),
          })),
        ),
      )
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions, topics.labels]), { timeoutMs: 60_000, what: 'the monitor to read the label' })
      // The label's batch is committed only after the window it touched was recomputed.
      expect(await labeled()).toEqual({ labeled: 1, closed: 1 })
      expect(await joined('clickhouse')).toBe(1)
      expect(await joined('memory')).toBe(0)
      // The lookup reads only the weeks within the horizon of the labels: the ancient prediction is
      // not looked at (it would not count), and its label is reported as not found.
      expect((await metrics.getSingleMetric('driftgate_labels_early_total')!.get()).values[0]?.value).toBe(1)
    } finally {
      await service.stop()
      await producer.close()
      await drop()
    }
  })

  it('finds exactly the stored ids, whatever characters they hold, over several lookups', async () => {
    const modelId = 'lookup-ids'
    const { ch, drop } = await freshClickHouse()
    try {
      const models = loadRuntimeModels(loadDriftgateConfig(writeModelConfig(modelId)))
      const odd = ['a\nb', 'a\\nb', '\n', "x'y", 'back\\', '日本語', '😀', 'p-1', 'p-1 ', ' p-1', 'tab\tid', 'comma,id', 'nul\u0000id']
      // Enough long ids for the lookup to take three chunks.
      const long = Array.from({ length: Math.ceil((2.5 * LOOKUP_BYTES) / 1_000) }, (_, i) => `${i}-${'z'.repeat(1_000)}`)
      const stored = [...odd, ...long].filter((_, i) => i % 2 === 0)
      const eventTime = Date.now() - HOUR
      const rows = stored.map((prediction_id, i): PredictionSource => ({
        event: samplePrediction({ prediction_id, model_id: modelId, event_time: eventTime }),
        model: models.get(modelId)!,
        record: { topic: 'predictions', partition: 0, offset: String(i), key: null, value: Buffer.alloc(0), timestamp: eventTime, headers: {} },
        ingestedAt: eventTime,
      }))
      await ch.insertRowBinary('predictions', encodeRows(PREDICTION_LAYOUT, rows))
      const found = await findPredictions(ch, modelId, new Set([...odd, ...long]), eventTime - HOUR)
      expect([...found.keys()].sort()).toEqual([...stored].sort())
      expect(found.get('a\nb')).toEqual({ model_id: modelId, model_version: rows[0]!.event.model_version, event_time: eventTime })
    } finally {
      await drop()
    }
  })
})
