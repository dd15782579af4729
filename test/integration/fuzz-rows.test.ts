import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { encodeRows, type RowBinaryLayout } from '../../services/shared/clickhouse/row-binary.ts'
import { LABEL_LAYOUT, PREDICTION_LAYOUT, type LabelRow, type PredictionRow } from '../../services/monitor/core/ingest/event-rows.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { mulberry32 } from '../../services/shared/stats/random.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import { sampleLabel, samplePrediction } from '../support/events.ts'
import { consume, mutate } from '../support/fuzz-records.ts'
import { freshClickHouse } from '../support/harness.ts'
import { writeModelConfig } from '../support/monitor-fixture.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

/** Rows at the edges of what the monitor accepts: multi-byte and long text, extreme floats,
 *  the second day and the last accepted time (18.16 prints Date 0 as 0000-00-00), offsets near 2^53. */
function edgeRows(model: string): { predictions: PredictionRow[]; labels: LabelRow[] } {
  const last = Date.UTC(2105, 11, 31, 23, 59, 59, 999)
  const texts = ['', 'ä', '日本語のカテゴリ', '😀 emoji', 'x'.repeat(127), 'y'.repeat(128), `é${'z'.repeat(200)}`, 'tab\tnew\nline\\quote\'"']
  const floats = [0, 2 ** -1074 * 3, 5e-324, -1.7976931348623157e308, 1.7976931348623157e308, 0.1, 1 / 3, -2.5e-300]
  const predictions = texts.map((text, i): PredictionRow => ({
    prediction_id: `${text}-${i}`,
    model_id: model,
    model_version: text,
    event_time: i % 2 ? 86_400_000 : last,
    event_date: i % 2 ? '1970-01-02' : '2105-12-31',
    numeric_names: floats.map((_, k) => `f${k}${text}`),
    numeric_values: floats.map((x, k) => (k === i ? null : x)),
    categorical_names: [text, 'c'],
    categorical_values: [text, i % 3 ? null : 'v'],
    predicted_class: i % 2 ? null : text,
    score: i % 2 ? null : floats[i]!,
    class_names: i % 3 ? [] : ['0', text],
    class_scores: i % 3 ? [] : [floats[i]!, 1],
    predicted_value: i % 2 ? floats[i]! : null,
    segment_names: [`s${text}`],
    segment_values: [text],
    kafka_partition: 4_294_967_295 - i,
    kafka_offset: Number.MAX_SAFE_INTEGER - i,
    kafka_timestamp: 2 ** 40 + i,
    ingested_at: 2 ** 32 + i,
  }))
  const labels = texts.map((text, i): LabelRow => ({
    prediction_id: `${text}-${i}`,
    model_id: model,
    label_time: i % 2 ? 86_400_000 : last,
    label_date: i % 2 ? '1970-01-02' : '2105-12-31',
    label_class: i % 2 ? null : text,
    label_value: i % 2 ? floats[i]! : null,
    kafka_partition: i,
    kafka_offset: Number.MAX_SAFE_INTEGER - i,
    kafka_timestamp: 2 ** 32 - 1 + i,
    ingested_at: i,
  }))
  return { predictions, labels }
}

describe('rows of fuzzed records that the monitor accepts', () => {
  it('are every one stored by ClickHouse exactly as encoded', async () => {
    const model = 'fuzz-rows'
    const now = Date.UTC(2026, 10, 1)
    const codec = EventCodec.forRegistry(registry.url)
    const models = loadRuntimeModels(loadDriftgateConfig(writeModelConfig(model)))
    const prediction = samplePrediction({
      model_id: model,
      event_time: now - 60_000,
      numeric_features: { x1: 0.5, x2: -1, x3: null },
      categorical_features: { country: 'DE', channel: null },
      segments: { new_entity: 'true' },
    })
    const label = sampleLabel({ model_id: model, label_time: now - 1_000 })
    const seeds = [
      { topic: 'predictions' as const, value: await codec.encode('predictions', 'PredictionEvent', prediction) },
      { topic: 'labels' as const, value: await codec.encode('labels', 'LabelEvent', label) },
      { topic: 'predictions' as const, value: Buffer.from(JSON.stringify(prediction)) },
      { topic: 'labels' as const, value: Buffer.from(JSON.stringify(label)) },
    ]
    const ids = [seeds[0]!.value.readInt32BE(1), seeds[1]!.value.readInt32BE(1)]
    const rand = mulberry32(7)
    const rows = { predictions: [] as PredictionRow[], labels: [] as LabelRow[] }
    for (let i = 0; rows.predictions.length + rows.labels.length < 3_000 && i < 200_000; i++) {
      const seed = seeds[i % seeds.length]!
      const row = await consume(codec, models, seed.topic, mutate(rand, seed.value, seed.value[0] === 0x7b, ids), now, i)
      if (seed.topic === 'predictions' && row) rows.predictions.push(row as unknown as PredictionRow)
      if (seed.topic === 'labels' && row) rows.labels.push(row as unknown as LabelRow)
    }
    const fuzzed = { predictions: rows.predictions.length, labels: rows.labels.length }
    const edges = edgeRows(model)
    rows.predictions.push(...edges.predictions)
    rows.labels.push(...edges.labels)
    const { ch, drop } = await freshClickHouse()
    try {
      const layouts = { predictions: PREDICTION_LAYOUT, labels: LABEL_LAYOUT } as Record<'predictions' | 'labels', RowBinaryLayout<object>>
      for (const table of ['predictions', 'labels'] as const) {
        for (const row of rows[table]) row.model_id = model
        // Read back, every row equals what the monitor encoded (-0 is stored as 0). ClickHouse's
        // own JSON parser is no reference here: 18.16 reads 5e-324 as 0 and rounds some extreme
        // values in the last digit.
        await ch.insertRowBinary(table, encodeRows(layouts[table], rows[table]))
        const stored = await ch.query(`SELECT * FROM ${ch.table(table)} WHERE model_id = ${lit(model)} ORDER BY kafka_offset, prediction_id, kafka_partition`)
        const order = (r: PredictionRow | LabelRow): string =>
          `${String(r.kafka_offset).padStart(20, '0')}|${r.prediction_id}|${String(r.kafka_partition).padStart(10, '0')}`
        const sent = [...rows[table]].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0))
        expect({ table, stored: stored.length }).toEqual({ table, stored: rows[table].length })
        expect(stored).toEqual(JSON.parse(JSON.stringify(sent)))
      }
      // Text comes back as it went in (one sample checked field by field).
      const [back] = await ch.query<{ prediction_id: string }>(
        `SELECT prediction_id FROM ${ch.table('predictions')} WHERE kafka_offset = ${lit(Number(rows.predictions[0]!.kafka_offset))} LIMIT 1`,
      )
      expect(back!.prediction_id).toBe(rows.predictions[0]!.prediction_id)
      expect(fuzzed.predictions).toBeGreaterThan(500)
      expect(fuzzed.labels).toBeGreaterThan(500)
    } finally {
      await drop()
    }
  })
})
