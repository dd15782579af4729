import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { DLQ_HEADERS } from '../../services/shared/kafka/dead-letter.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import { readTopic } from '../../services/shared/kafka/read-topic.ts'
import { createMonitorService } from '../../services/monitor/run/monitor-service.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import { expectedWindows } from '../support/expected-windows.ts'
import { freshClickHouse, freshTopics, groupCaughtUp, testLogger, uniqueId, waitFor, windowsSettled } from '../support/harness.ts'
import { COSTS, HOUR, KNOWN_COUNTRIES, X1_EDGES, writeModelConfig } from '../support/monitor-fixture.ts'
import { produceEmissions } from '../support/produce.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'
import { generateTraffic } from '../support/traffic.ts'
import { readWindowSummaries, readFeatureStats } from '../support/window-reads.ts'
import { defaultMonitorSettings } from '../../services/monitor/run/monitor-settings.ts'

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

describe('monitor: windowed metrics from predictions and delayed labels', () => {
  it('gives exactly the window metrics computed independently from the events (out of order, early, old, duplicated and malformed records included)', async () => {
    const id = uniqueId()
    const modelId = `credit-${id}`
    const { kafka, topics } = await freshTopics(id)
    const { ch, drop } = await freshClickHouse(id)
    const codec = EventCodec.forRegistry(registry.url)
    const start = Math.floor(Date.now() / HOUR) * HOUR - 96 * HOUR
    const emissions = generateTraffic({ seed: 7, modelId, start, durationMs: 12 * HOUR, count: 3000, malformed: 25 })
    await produceEmissions(kafka, codec, topics, emissions)

    const config = loadDriftgateConfig(writeModelConfig(modelId))
    const groupId = `monitor-${id}`
    const producer = await createProducer(kafka)
    // A small join index so that many labels must be looked up in ClickHouse.
    const service = createMonitorService({
      kafka,
      ch,
      codec,
      producer,
      topics,
      models: loadRuntimeModels(config),
      logger: testLogger('monitor'),
      registry: new Registry(),
      settings: defaultMonitorSettings({ groupId, maxBatchSize: 700, lingerMs: 50, indexPerPartition: 50 }),
    })
    try {
      await service.start()
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions, topics.labels]), { timeoutMs: 120_000, what: 'the monitor to consume everything' })
      await waitFor(() => windowsSettled(ch, modelId, 600_000), { timeoutMs: 30_000, what: 'windows to settle' })
    } finally {
      await service.stop()
      await producer.close()
    }

    const expected = expectedWindows(emissions, {
      sizes: [HOUR, 6 * HOUR],
      latenessMs: 600_000,
      horizonMs: 30 * 24 * HOUR,
      x1Edges: X1_EDGES,
      knownCountries: KNOWN_COUNTRIES,
      segments: ['new_entity'],
      costs: COSTS,
    })
    const summaries = await readWindowSummaries(ch, modelId)
    const features = await readFeatureStats(ch, modelId)
    expect(summaries.size).toBe(expected.size)
    let labeledWindows = 0
    for (const [key, want] of expected) {
      const got = summaries.get(key)
      expect(got, key).toBeDefined()
      expect({
        key,
        volume: got!.volume,
        duplicates: got!.duplicate_count,
        late: got!.late_count,
        labeled: got!.labeled_count,
        closed: got!.closed === 1,
      }).toEqual({
        key,
        volume: want.volume,
        duplicates: want.duplicate_count,
        late: want.late_count,
        labeled: want.labeled_count,
        closed: want.closed,
      })
      for (const metric of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'calibration_error', 'estimated_accuracy'] as const) {
        if (want[metric] === null) expect(got![metric], `${key} ${metric}`).toBeNull()
        else expect(got![metric], `${key} ${metric}`).toBeCloseTo(want[metric]!, 9)
      }
      for (const [metric, column] of [
        ['delay_p50', 'label_delay_p50_ms'],
        ['delay_p90', 'label_delay_p90_ms'],
        ['delay_p99', 'label_delay_p99_ms'],
      ] as const) {
        if (want[metric] === null) expect(got![column], `${key} ${metric}`).toBeNull()
        else expect(got![column], `${key} ${metric}`).toBeCloseTo(want[metric]!, 6)
      }
      expect(got!.business_value, `${key} business value`).toBe(want.business_value)
      expect(got!.label_coverage).toBeCloseTo(want.labeled_count / want.volume, 12)
      if (want.labeled_count > 0) labeledWindows++

      const x1 = features.get(`${key}|x1`)!
      expect({ count: x1.count, nulls: x1.nulls, histogram: x1.histogram }).toEqual({
        count: want.x1.count,
        nulls: want.x1.nulls,
        histogram: want.x1.histogram,
      })
      expect(x1.mean!).toBeCloseTo(want.x1.mean, 9)
      expect(x1.std!).toBeCloseTo(want.x1.std, 9)
      // ClickHouse prints floats with 17 significant digits; the last one may differ from JS.
      expect(x1.min!).toBeCloseTo(want.x1.min, 12)
      expect(x1.max!).toBeCloseTo(want.x1.max, 12)
      expect(features.get(`${key}|x3`)!.nulls).toBe(want.x3_nulls)
      const country = features.get(`${key}|country`)!
      expect(Object.fromEntries(country.categories.map((c, i) => [c, country.category_counts[i]]))).toEqual(want.country)
      expect(country.unseen).toBe(want.country_unseen)
    }
    // The traffic really exercised what the test claims.
    expect(labeledWindows).toBeGreaterThan(10)
    expect([...expected.values()].some((w) => w.duplicate_count > 0)).toBe(true)
    expect([...expected.values()].some((w) => w.late_count > 0)).toBe(true)

    // Every malformed record is in the dead-letter topic with its reason and origin.
    const malformed = emissions.filter((e) => e.kind === 'raw')
    const letters = await readTopic(kafka, topics.deadLetter, { count: malformed.length, timeoutMs: 20_000 })
    expect(letters).toHaveLength(malformed.length)
    const codes = letters.map((l) => l.headers[DLQ_HEADERS.code]).sort()
    expect(codes).toEqual(malformed.map((e) => (e.kind === 'raw' ? e.why : '')).sort())
    for (const letter of letters) {
      const original = malformed.find((e) => e.kind === 'raw' && e.key === letter.key?.toString() && e.value.equals(letter.value!))
      expect(original, 'dead letter keeps the original bytes').toBeDefined()
      expect(letter.headers[DLQ_HEADERS.reason]!.length).toBeGreaterThan(10)
      expect([topics.predictions, topics.labels]).toContain(letter.headers[DLQ_HEADERS.topic])
      expect(Number(letter.headers[DLQ_HEADERS.offset])).toBeGreaterThanOrEqual(0)
    }
    const stored = await ch.query<{ n: number }>(`SELECT uniqExact(prediction_id) AS n FROM ${ch.table('predictions')} WHERE model_id = ${lit(modelId)}`)
    expect(stored[0]!.n).toBe(3000)
    await drop()
  })
})
