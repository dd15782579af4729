import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { DLQ_HEADERS } from '../../services/shared/kafka/dead-letter.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import { scanTopic } from '../../services/shared/kafka/read-topic.ts'
import { createMonitorService } from '../../services/monitor/run/monitor-service.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import { CLICKHOUSE_URL, freshClickHouse, freshTopics, groupCaughtUp, testLogger, uniqueId, waitFor } from '../support/harness.ts'
import { hostileRecords } from '../support/hostile-records.ts'
import { kcatProduce, type KcatCompression } from '../support/kcat.ts'
import { writeModelConfig } from '../support/monitor-fixture.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'
import { startTcpProxy } from '../support/tcp-proxy.ts'
import { defaultMonitorSettings } from '../../services/monitor/run/monitor-settings.ts'

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

const CODECS: KcatCompression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

function events(modelId: string, count: number, now: number, from = 0): { predictions: PredictionEvent[]; labels: LabelEvent[] } {
  const predictions = Array.from({ length: count }, (_, k): PredictionEvent => {
    const i = from + k
    const score = ((i * 37) % 100) / 100
    return {
      prediction_id: `${modelId}-${i}`,
      model_id: modelId,
      model_version: 'v1',
      event_time: now - 600_000 + i * 100,
      numeric_features: { x1: ((i * 13) % 7) - 3, x2: i % 5, x3: null },
      categorical_features: { country: ['DE', 'FR', 'US', 'PL'][i % 4]!, channel: null },
      prediction: { predicted_class: score >= 0.5 ? '1' : '0', scores: { '0': 1 - score, '1': score }, value: null },
      segments: { new_entity: i % 3 === 0 ? 'true' : 'false' },
    }
  })
  const labels = predictions.map((p, i): LabelEvent => ({
    prediction_id: p.prediction_id,
    model_id: modelId,
    label_time: p.event_time + 60_000,
    label_class: i % 2 === 0 ? '1' : '0',
    label_value: null,
  }))
  return { predictions, labels }
}

describe('the outside world: records from librdkafka with every codec, hostile records, an outage', () => {
  it('stores every valid record of two models exactly once, dead-letters every bad one with its code, and is unhealthy only while ClickHouse is down', async () => {
    const id = uniqueId()
    const [modelA, modelB] = [`ow-a-${id}`, `ow-b-${id}`]
    const { kafka, topics } = await freshTopics(id)
    const { ch, drop } = await freshClickHouse(id)
    const proxy = await startTcpProxy({ host: new URL(CLICKHOUSE_URL).hostname, port: Number(new URL(CLICKHOUSE_URL).port) })
    const monitorCh = new ClickHouse({ url: proxy.url, database: ch.database, requestTimeoutMs: 5_000 })
    const codec = EventCodec.forRegistry(registry.url)
    const now = Date.now()

    // Valid records: Avro and JSON, produced by kcat (murmur2_random) in chunks, each with another codec.
    const valid = [events(modelA, 300, now), events(modelB, 300, now)]
    const encode = async (topic: string, name: 'PredictionEvent' | 'LabelEvent', e: PredictionEvent | LabelEvent, i: number): Promise<Buffer> =>
      i % 3 === 0 ? Buffer.from(JSON.stringify(e)) : codec.encode(topic, name, e as never)
    const predictionRecords = await Promise.all(
      valid.flatMap((v) => v.predictions).map(async (e, i) => ({ key: e.prediction_id, value: await encode(topics.predictions, 'PredictionEvent', e, i) })),
    )
    const labelRecords = await Promise.all(
      valid.flatMap((v) => v.labels).map(async (e, i) => ({ key: e.prediction_id, value: await encode(topics.labels, 'LabelEvent', e, i) })),
    )

    // Hostile records, mixed in; the Avro ones framed with the topics' real schema ids.
    const predictionSchemaId = (await codec.encode(topics.predictions, 'PredictionEvent', valid[0]!.predictions[0]!)).readInt32BE(1)
    const labelSchemaId = (await codec.encode(topics.labels, 'LabelEvent', valid[0]!.labels[0]!)).readInt32BE(1)
    const hostile = hostileRecords({ modelId: modelA, predictionSchemaId, labelSchemaId, now, serial: id })
    const timed = hostile.filter((h) => h.at !== now) // kcat cannot set a timestamp: sent by kafkajs
    const viaKcat = hostile.filter((h) => h.at === now)
    const huge = { key: `huge-${id}`, value: Buffer.concat([Buffer.from('{"prediction_id":'), Buffer.alloc(1_040_000, 0x37)]) }
    const unconfigured = Array.from({ length: 4_000 }, (_, i) => ({
      key: `nobody-${i}`,
      value: Buffer.from(
        JSON.stringify({ prediction_id: `nobody-${i}`, model_id: `nobody-${id}`, label_time: now - 1_000, label_class: '1', label_value: null }),
      ),
    }))

    const chunks = (records: { key: string; value: Buffer }[], n: number) =>
      Array.from({ length: Math.ceil(records.length / n) }, (_, i) => records.slice(i * n, (i + 1) * n))
    let c = 0
    for (const chunk of chunks(predictionRecords, 70)) {
      const bad = viaKcat.filter((h) => h.topic === 'predictions').slice(c, c + 1)
      await kcatProduce({
        topic: topics.predictions,
        records: [...chunk, ...bad.map((h) => ({ key: h.key, value: h.value }))],
        compression: CODECS[c++ % CODECS.length],
      })
    }
    await kcatProduce({
      topic: topics.predictions,
      records: viaKcat
        .filter((h) => h.topic === 'predictions')
        .slice(c)
        .map((h) => ({ key: h.key, value: h.value })),
      compression: 'lz4',
    })
    await kcatProduce({ topic: topics.predictions, records: [huge], maxMessageBytes: 2_000_000 })
    await kcatProduce({
      topic: topics.labels,
      records: [
        ...labelRecords.slice(0, 300),
        ...viaKcat.filter((h) => h.topic === 'labels').map((h) => ({ key: h.key, value: h.value })),
        ...labelRecords.slice(300),
      ],
      compression: 'zstd',
    })
    await kcatProduce({ topic: topics.labels, records: unconfigured, compression: 'snappy' })
    const producer = await createProducer(kafka, { compression: 'gzip' })
    for (const h of timed)
      await producer.send(h.topic === 'predictions' ? topics.predictions : topics.labels, [{ key: h.key, value: h.value, timestamp: h.at }])

    const config = loadDriftgateConfig(
      writeModelConfig(
        modelA,
        `  - model_id: ${modelB}\n    task: binary_classification\n    positive_class: "1"\n    classes: ["0", "1"]\n    features: { numeric: [x1, x2, x3], categorical: [country, channel] }\n    windows: [1h]\n`,
      ),
    )
    const groupId = `monitor-${id}`
    const service = createMonitorService({
      kafka,
      ch: monitorCh,
      codec,
      producer,
      topics,
      models: loadRuntimeModels(config),
      logger: testLogger('monitor'),
      registry: new Registry(),
      stallCheckMs: 500,
      retry: { initialMs: 100, maxMs: 500 },
      settings: defaultMonitorSettings({ groupId, maxBatchSize: 2_000, lingerMs: 50, stallMs: 4_000 }),
    })
    try {
      await service.start()
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions, topics.labels]), { timeoutMs: 120_000, what: 'the monitor to read everything' })
      // (Caught up: the next progress check sees no lag.)
      await waitFor(() => service.healthcheck(), { timeoutMs: 5_000, what: 'health to be green once caught up' })

      const stored = async (table: 'predictions' | 'labels', modelId: string): Promise<number> =>
        Number((await ch.query<{ n: number }>(`SELECT uniqExact(prediction_id) AS n FROM ${ch.table(table)} WHERE model_id = ${lit(modelId)}`))[0]!.n)
      for (const m of [modelA, modelB])
        expect({ m, predictions: await stored('predictions', m), labels: await stored('labels', m) }).toEqual({ m, predictions: 300, labels: 300 })

      const expectedCodes = [...hostile.map((h) => h.code), 'malformed_json', ...unconfigured.map(() => 'unknown_model')].sort()
      const letters = (await scanTopic(kafka, topics.deadLetter, { toEnd: true, timeoutMs: 30_000 })).records
      expect(letters.map((l) => l.headers[DLQ_HEADERS.code]).sort()).toEqual(expectedCodes)
      const hugeLetter = letters.find((l) => l.key?.toString() === huge.key)!
      expect(hugeLetter.headers[DLQ_HEADERS.originalLength]).toBe(String(huge.value.length))
      expect(hugeLetter.value!.equals(huge.value.subarray(0, hugeLetter.value!.length))).toBe(true)
      for (const h of hostile) expect(letters.find((l) => l.key?.toString() === h.key)?.headers[DLQ_HEADERS.code], h.name).toBe(h.code)

      // ClickHouse down longer than the stall limit: red while it lasts, then green; nothing lost.
      proxy.pause()
      const more = events(modelA, 50, now, 300)
      await kcatProduce({
        topic: topics.predictions,
        records: more.predictions.map((e) => ({ key: e.prediction_id, value: Buffer.from(JSON.stringify(e)) })),
        compression: 'lz4',
      })
      await waitFor(() => !service.healthcheck(), { timeoutMs: 30_000, what: 'health to turn red during the outage' })
      await new Promise((r) => setTimeout(r, 2_000))
      expect(service.healthcheck()).toBe(false)
      proxy.resume()
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions]), { timeoutMs: 60_000, what: 'the monitor to catch up after the outage' })
      await waitFor(() => service.healthcheck(), { timeoutMs: 10_000, what: 'health to turn green again' })
      expect(await stored('predictions', modelA)).toBe(350)
      const after = (await scanTopic(kafka, topics.deadLetter, { toEnd: true, timeoutMs: 30_000 })).records
      expect(after.length).toBe(letters.length)
      // The year-2200 record was dead-lettered: its timestamp is the data time of no window
      // computed after it (those of the predictions sent during the outage).
      const [history] = await ch.query<{ computations: number; newest: number }>(
        `SELECT count() AS computations, max(as_of) AS newest FROM ${ch.table('window_summary_history')} WHERE model_id = ${lit(modelA)}`,
      )
      expect(Number(history!.computations)).toBeGreaterThan(0)
      expect(Number(history!.newest)).toBeLessThanOrEqual(Date.now())
    } finally {
      await service.stop()
      await producer.close()
      await monitorCh.close()
      await proxy.close()
      await drop()
    }
  })

  it("joins every label produced with librdkafka's default partitioner (CRC32) to its prediction produced with murmur2, through ClickHouse", async () => {
    const id = uniqueId()
    const modelId = `ow-p-${id}`
    const { kafka, topics } = await freshTopics(id)
    const { ch, drop } = await freshClickHouse(id)
    const codec = EventCodec.forRegistry(registry.url)
    const { predictions, labels } = events(modelId, 600, Date.now())
    const producer = await createProducer(kafka)
    await producer.send(
      topics.predictions,
      await Promise.all(predictions.map(async (e) => ({ key: e.prediction_id, value: await codec.encode(topics.predictions, 'PredictionEvent', e) }))),
    )
    const metrics = new Registry()
    const groupId = `monitor-${id}`
    const service = createMonitorService({
      kafka,
      ch,
      codec,
      producer,
      topics,
      models: loadRuntimeModels(loadDriftgateConfig(writeModelConfig(modelId))),
      logger: testLogger('monitor'),
      registry: metrics,
      detection: false,
      settings: defaultMonitorSettings({ groupId }),
    })
    let elsewhere = 0
    try {
      await service.start()
      // Predictions first: every label then finds its prediction stored (in memory when on its partition).
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions]), { timeoutMs: 60_000, what: 'the predictions to be stored' })
      await kcatProduce({
        topic: topics.labels,
        records: await Promise.all(labels.map(async (e) => ({ key: e.prediction_id, value: await codec.encode(topics.labels, 'LabelEvent', e) }))),
        partitioner: 'consistent_random',
      })
      await waitFor(() => groupCaughtUp(kafka, groupId, [topics.predictions, topics.labels]), { timeoutMs: 60_000, what: 'the labels to be joined' })
      const placed = new Map(
        (await scanTopic(kafka, topics.predictions, { toEnd: true, timeoutMs: 30_000 })).records.map((r) => [r.key!.toString(), r.partition]),
      )
      elsewhere = (await scanTopic(kafka, topics.labels, { toEnd: true, timeoutMs: 30_000 })).records.filter(
        (r) => placed.get(r.key!.toString()) !== r.partition,
      ).length
    } finally {
      await service.stop()
      await producer.close()
    }
    expect(elsewhere).toBeGreaterThan(300)
    const [labeled] = await ch.query<{ n: number }>(
      `SELECT sum(labeled_count) AS n FROM ${ch.table('window_summary')} FINAL WHERE model_id = ${lit(modelId)} AND window_size_ms = 3600000 AND segment = 'all'`,
    )
    expect(Number(labeled!.n)).toBe(600)
    const joined = (await metrics.getSingleMetric('driftgate_labels_joined_total')!.get()).values
    const by = (source: string): number => joined.filter((v) => v.labels.source === source).reduce((a, v) => a + v.value, 0)
    expect({ memory: by('memory'), clickhouse: by('clickhouse') }).toEqual({ memory: 600 - elsewhere, clickhouse: elsewhere })
    await drop()
  })
})
