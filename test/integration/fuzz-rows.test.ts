import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { MAX_PARTITIONS_PER_INSERT, RowBinaryRowsWriter, encodeRows } from '../../services/shared/clickhouse/row-binary.ts'
import { LABEL_LAYOUT, PREDICTION_LAYOUT, labelRow, type LabelRow, type PredictionSource } from '../../services/monitor/core/ingest/event-rows.ts'
import type { RuntimeModel } from '../../services/monitor/core/runtime-model.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { mulberry32 } from '../../services/shared/stats/random.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import { recordAt, sampleLabel, samplePrediction } from '../support/events.ts'
import { consume, mutate, type Consumed } from '../support/fuzz-records.ts'
import { predictionRow } from '../support/prediction-rows.ts'
import { freshClickHouse } from '../support/harness.ts'
import { writeModelConfig } from '../support/monitor-fixture.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

/** Records at the edges of what the monitor accepts: multi-byte and long text, extreme floats,
 *  the second day and the last accepted time (18.16 prints Date 0 as 0000-00-00), offsets near 2^53. */
function edgeRecords(model: RuntimeModel): Consumed[] {
  const last = Date.UTC(2105, 11, 31, 23, 59, 59, 999)
  const texts = ['', 'ä', '日本語のカテゴリ', '😀 emoji', 'x'.repeat(127), 'y'.repeat(128), `é${'z'.repeat(200)}`, 'tab\tnew\nline\\quote\'"']
  const floats = [0, 2 ** -1074 * 3, 5e-324, -1.7976931348623157e308, 1.7976931348623157e308, 0.1, 1 / 3, -2.5e-300]
  const modelId = model.config.model_id
  const record = (topic: string, partition: number, offset: number, timestamp: number) =>
    ({ topic, partition, offset: String(offset), key: null, value: null, timestamp, headers: {} }) as const
  return texts.flatMap((text, i): Consumed[] => {
    const source: PredictionSource = {
      event: {
        prediction_id: `${text}-${i}`,
        model_id: modelId,
        model_version: text,
        event_time: i % 2 ? 86_400_000 : last,
        numeric_features: Object.fromEntries(floats.map((x, k) => [`f${k}${text}`, k === i ? null : x])),
        categorical_features: { [text]: text, c: i % 3 ? null : 'v' },
        // Every other row scores the positive class '1' with an extreme float.
        prediction: { predicted_class: i % 2 ? null : text, scores: i % 2 ? {} : { '1': floats[i]!, [text]: 1 }, value: i % 2 ? floats[i]! : null },
        segments: { [`s${text}`]: text },
      },
      model,
      record: record('predictions', 4_294_967_295 - i, Number.MAX_SAFE_INTEGER - i, 2 ** 40 + i),
      ingestedAt: 2 ** 32 + i,
    }
    const label = labelRow(
      {
        prediction_id: `${text}-${i}`,
        model_id: modelId,
        label_time: i % 2 ? 86_400_000 : last,
        label_class: i % 2 ? null : text,
        label_value: i % 2 ? floats[i]! : null,
      },
      record('labels', i, Number.MAX_SAFE_INTEGER - i, 2 ** 32 - 1 + i),
      i,
    )
    // The dates written out, not derived: the second day and the last accepted one.
    const date = i % 2 ? '1970-01-02' : '2105-12-31'
    return [
      { topic: 'predictions', row: { ...predictionRow(source.event, model, source.record, source.ingestedAt), event_date: date }, source },
      { topic: 'labels', row: { ...label, label_date: date }, source: label },
    ]
  })
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
    const consumed: Consumed[] = []
    for (let i = 0; consumed.length < 3_000 && i < 200_000; i++) {
      const seed = seeds[i % seeds.length]!
      const one = await consume(codec, models, seed.topic, mutate(rand, seed.value, seed.value[0] === 0x7b, ids), now, i)
      if (one) consumed.push(one)
    }
    const fuzzed = { predictions: consumed.filter((c) => c.topic === 'predictions').length, labels: consumed.filter((c) => c.topic === 'labels').length }
    consumed.push(...edgeRecords(models.get(model)!))
    const { ch, drop } = await freshClickHouse()
    try {
      for (const table of ['predictions', 'labels'] as const) {
        const mine = consumed.filter((c) => c.topic === table)
        const rows =
          table === 'predictions'
            ? encodeRows(
                PREDICTION_LAYOUT,
                mine.map((c) => c.source as PredictionSource),
              )
            : encodeRows(
                LABEL_LAYOUT,
                mine.map((c) => c.source as LabelRow),
              )
        // Read back, every row equals the row the monitor stores, as JSON (-0 is stored as 0).
        // ClickHouse's own JSON parser is no reference here: 18.16 reads 5e-324 as 0 and rounds
        // some extreme values in the last digit.
        expect(rows).toHaveLength(1)
        await ch.insertRowBinary(table, rows)
        const stored = await ch.query(`SELECT * FROM ${ch.table(table)} WHERE model_id = ${lit(model)} ORDER BY kafka_offset, prediction_id, kafka_partition`)
        const order = (r: Record<string, unknown>): string =>
          `${String(r.kafka_offset).padStart(20, '0')}|${String(r.prediction_id)}|${String(r.kafka_partition).padStart(10, '0')}`
        const sent = mine.map((c) => c.row).sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0))
        expect({ table, stored: stored.length }).toEqual({ table, stored: mine.length })
        expect(stored).toEqual(JSON.parse(JSON.stringify(sent)))
      }
      // Text comes back as it went in (one sample checked field by field).
      const first = consumed.find((c) => c.topic === 'predictions')!
      const [back] = await ch.query<{ prediction_id: string }>(
        `SELECT prediction_id FROM ${ch.table('predictions')} WHERE kafka_offset = ${lit(Number(first.row.kafka_offset))} LIMIT 1`,
      )
      expect(back!.prediction_id).toBe(first.row.prediction_id)
      expect(fuzzed.predictions).toBeGreaterThan(500)
      expect(fuzzed.labels).toBeGreaterThan(500)
    } finally {
      await drop()
    }
  })

  it('of events stamped over 250 weeks in one batch are stored, in inserts of at most 100 partitions each', async () => {
    // A backfill or a producer's odd clock: every time is valid on its own (within two years of
    // its record's timestamp), yet one insert of them all spans more weekly partitions than the
    // current engine takes in one block (max_partitions_per_insert_block).
    const model = 'weeks'
    const models = loadRuntimeModels(loadDriftgateConfig(writeModelConfig(model)))
    const runtime = models.get(model)!
    const week = 7 * 86_400_000
    const first = Date.UTC(2019, 0, 7, 12)
    const weeks = 250
    const rand = mulberry32(11)
    const sources: PredictionSource[] = Array.from({ length: 1_000 }, (_, i) => {
      const time = first + (i % weeks) * week + Math.floor(rand() * 6 * 86_400_000)
      return {
        event: samplePrediction({ prediction_id: `w-${i}`, model_id: model, event_time: time }),
        model: runtime,
        record: recordAt(i, time + 1_000, i % 3),
        ingestedAt: Date.UTC(2026, 10, 1),
      }
    })
    const labels: LabelRow[] = sources.map((p, i) =>
      labelRow(
        sampleLabel({ prediction_id: p.event.prediction_id, model_id: model, label_time: p.event.event_time + 3_600_000 }),
        recordAt(i, p.event.event_time + 3_601_000, i % 3),
        i,
      ),
    )
    const { ch, drop } = await freshClickHouse()
    try {
      const predictionInserts = encodeRows(PREDICTION_LAYOUT, sources)
      const labelInserts = encodeRows(LABEL_LAYOUT, labels)
      expect(predictionInserts.map((b) => b.rows)).toEqual([400, 400, 200])
      expect(labelInserts).toHaveLength(3)
      await ch.insertRowBinary('predictions', predictionInserts)
      await ch.insertRowBinary('labels', labelInserts)
      for (const [table, date] of [
        ['predictions', 'event_date'],
        ['labels', 'label_date'],
      ] as const) {
        const [stored] = await ch.query<{ n: number; ids: number; weeks: number; parts: number }>(
          `SELECT count() AS n, uniqExact(prediction_id) AS ids, uniqExact(toMonday(${date})) AS weeks,
                  (SELECT uniqExact(partition) FROM system.parts WHERE database = ${lit(ch.database)} AND table = ${lit(table)} AND active) AS parts
           FROM ${ch.table(table)} WHERE model_id = ${lit(model)}`,
        )
        expect({ table, n: Number(stored!.n), ids: Number(stored!.ids), weeks: Number(stored!.weeks), parts: Number(stored!.parts) }).toEqual({
          table,
          n: 1_000,
          ids: 1_000,
          weeks,
          parts: weeks,
        })
      }
      // The keys the view copies from each insert are all there too.
      const [keys] = await ch.query<{ n: number }>(`SELECT uniqExact(prediction_id) AS n FROM ${ch.table('prediction_keys')} WHERE model_id = ${lit(model)}`)
      expect(Number(keys!.n)).toBe(1_000)
      // What the split avoids: the same rows as one insert. Debian's 18.16 has no such limit.
      const whole = new RowBinaryRowsWriter(PREDICTION_LAYOUT, 1 << 12, Infinity)
      sources.forEach((source) => whole.add(source))
      const [engine] = await ch.query<{ v: string }>('SELECT version() AS v')
      if (engine!.v.startsWith('18.')) await ch.insertRowBinary('predictions', whole.inserts())
      else await expect(ch.insertRowBinary('predictions', whole.inserts())).rejects.toThrow(new RegExp(`more than ${MAX_PARTITIONS_PER_INSERT}`))
    } finally {
      await drop()
    }
  })
})
