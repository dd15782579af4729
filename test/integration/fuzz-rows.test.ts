import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lit } from '../../services/shared/clickhouse/sql.ts'
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

describe('rows of fuzzed records that the monitor accepts', () => {
  it('are every one stored by ClickHouse, text and dates included', async () => {
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
    const rows = { predictions: [] as Record<string, unknown>[], labels: [] as Record<string, unknown>[] }
    for (let i = 0; rows.predictions.length + rows.labels.length < 3_000 && i < 200_000; i++) {
      const seed = seeds[i % seeds.length]!
      const row = await consume(codec, models, seed.topic, mutate(rand, seed.value, seed.value[0] === 0x7b, ids), now, i)
      if (row) rows[seed.topic].push(row)
    }
    const { ch, drop } = await freshClickHouse()
    try {
      for (const table of ['predictions', 'labels'] as const) {
        for (const row of rows[table]) row.model_id = model
        await ch.insert(table, rows[table])
        const [stored] = await ch.query<{ n: number }>(`SELECT count() AS n FROM ${ch.table(table)} WHERE model_id = ${lit(model)}`)
        expect({ table, stored: Number(stored!.n) }).toEqual({ table, stored: rows[table].length })
      }
      // Text comes back as it went in (one sample checked field by field).
      const [back] = await ch.query<{ prediction_id: string }>(
        `SELECT prediction_id FROM ${ch.table('predictions')} WHERE kafka_offset = ${lit(Number(rows.predictions[0]!.kafka_offset))} LIMIT 1`,
      )
      expect(back!.prediction_id).toBe(rows.predictions[0]!.prediction_id)
      expect(rows.predictions.length).toBeGreaterThan(500)
      expect(rows.labels.length).toBeGreaterThan(500)
    } finally {
      await drop()
    }
  })
})
