import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DecodeError } from '../../../services/shared/codec/decode-error.ts'
import { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import { EVENT_LIMITS } from '../../../services/shared/codec/event-limits.ts'
import { loadDriftgateConfig } from '../../../services/shared/config/model-config.ts'
import { mulberry32 } from '../../../services/shared/stats/random.ts'
import { validateLabel, validatePrediction } from '../../../services/monitor/core/ingest/validate-event.ts'
import { loadRuntimeModels } from '../../../services/monitor/run/runtime-models.ts'
import { consume, mutate } from '../../support/fuzz-records.ts'
import { hostileRecords } from '../../support/hostile-records.ts'
import { writeModelConfig } from '../../support/monitor-fixture.ts'
import { startRegistryDouble, type RegistryDouble } from '../../support/schema-registry-double.ts'
import { sampleLabel, samplePrediction } from '../../support/events.ts'

const MODEL = 'fuzz-model'
const NOW = Date.UTC(2026, 10, 1)
const INPUTS = 50_000

let registry: RegistryDouble
let codec: EventCodec
let seeds: { topic: 'predictions' | 'labels'; value: Buffer }[]
const models = loadRuntimeModels(loadDriftgateConfig(writeModelConfig(MODEL)))
let ids: { prediction: number; label: number }

beforeAll(async () => {
  registry = await startRegistryDouble()
  codec = EventCodec.forRegistry(registry.url)
  const prediction = samplePrediction({
    model_id: MODEL,
    event_time: NOW - 60_000,
    numeric_features: { x1: 0.5, x2: -1, x3: null },
    categorical_features: { country: 'DE', channel: null },
    segments: { new_entity: 'true' },
  })
  const label = sampleLabel({ model_id: MODEL, label_time: NOW - 1_000 })
  const avroP = await codec.encode('predictions', 'PredictionEvent', prediction)
  const avroL = await codec.encode('labels', 'LabelEvent', label)
  ids = { prediction: avroP.readInt32BE(1), label: avroL.readInt32BE(1) }
  seeds = [
    { topic: 'predictions', value: avroP },
    { topic: 'labels', value: avroL },
    { topic: 'predictions', value: Buffer.from(JSON.stringify(prediction)) },
    { topic: 'labels', value: Buffer.from(JSON.stringify(label)) },
  ]
})
afterAll(() => registry.close())

const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const maxDate = new Date(EVENT_LIMITS.maxTimeMs).toISOString().slice(0, 10)

/** What ClickHouse needs of a row to take it: well-formed text within limits, dates it can store, finite numbers. */
function rowProblems(row: Record<string, unknown>): string[] {
  const problems: string[] = []
  const visit = (path: string, v: unknown): void => {
    if (typeof v === 'string') {
      if (LONE.test(v)) problems.push(`${path}: lone surrogate`)
      if (v.length > EVENT_LIMITS.stringChars) problems.push(`${path}: ${v.length} characters`)
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push(`${path}: ${v}`)
    } else if (Array.isArray(v)) v.forEach((x, i) => visit(`${path}[${i}]`, x))
    else if (v !== null) problems.push(`${path}: ${typeof v}`)
  }
  for (const [k, v] of Object.entries(row)) visit(k, v)
  for (const k of ['event_date', 'label_date'] as const) {
    const d = row[k]
    if (d !== undefined && !(typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d) && d >= '1970-01-01' && d <= maxDate)) problems.push(`${k}: ${String(d)}`)
  }
  for (const [names, values] of [
    ['numeric_names', 'numeric_values'],
    ['categorical_names', 'categorical_values'],
    ['class_names', 'class_scores'],
    ['segment_names', 'segment_values'],
  ] as const) {
    if (row[names] && (row[names] as unknown[]).length !== (row[values] as unknown[]).length) problems.push(`${names} and ${values} differ in length`)
  }
  return problems
}

describe('fuzzing the decode, validate and row path', () => {
  it(`takes ${INPUTS.toLocaleString('en-US')} mutated Avro and JSON records: none over 100 ms, only rejections thrown, every accepted row storable`, async () => {
    const rand = mulberry32(20261203)
    let accepted = 0
    let slowest = 0
    const problems: string[] = []
    for (let i = 0; i < INPUTS; i++) {
      const seed = seeds[i % seeds.length]!
      const value = mutate(rand, seed.value, seed.value[0] === 0x7b, [ids.prediction, ids.label])
      const started = performance.now()
      const consumed = await consume(codec, models, seed.topic, value, NOW)
      slowest = Math.max(slowest, performance.now() - started)
      if (consumed) {
        accepted++
        for (const p of rowProblems(consumed.row)) problems.push(`${value.toString('hex').slice(0, 80)}: ${p}`)
      }
    }
    expect(problems.slice(0, 5)).toEqual([])
    expect(slowest).toBeLessThan(100)
    // The mutations keep some records valid, so the accepted path is exercised too.
    expect(accepted).toBeGreaterThan(INPUTS / 50)
    expect(accepted).toBeLessThan(INPUTS)
  }, 120_000)

  it('rejects each of the records that once stopped the monitor with its own code', async () => {
    for (const h of hostileRecords({ modelId: MODEL, predictionSchemaId: ids.prediction, labelSchemaId: ids.label, now: NOW, serial: 's' })) {
      const record = { topic: h.topic, partition: 0, offset: '1', key: null, value: h.value, timestamp: h.at, headers: {} }
      const code = await (
        h.topic === 'predictions'
          ? codec.decodePrediction(h.value).then(({ event }) => validatePrediction(event, models.get(event.model_id), record.timestamp)?.code ?? 'accepted')
          : codec.decodeLabel(h.value).then(({ event }) => validateLabel(event, models.get(event.model_id), record.timestamp)?.code ?? 'accepted')
      ).catch((e: DecodeError) => e.code)
      expect({ name: h.name, code }).toEqual({ name: h.name, code: h.code })
    }
  })
})
