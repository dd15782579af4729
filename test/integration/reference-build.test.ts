import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { loadEnv } from '../../services/shared/config/env.ts'
import type { ReferenceProfile } from '../../services/shared/records/reference-profile.ts'
import { driftgate } from '../support/cli-run.ts'
import { CLICKHOUSE_URL, uniqueId } from '../support/harness.ts'
import { EXPECTED, sampleLabels, samplePredictions } from '../support/reference-sample.ts'

// `driftgate reference build` as a user runs it: from a JSON-lines training sample, and from the
// predictions and labels stored in the service database (read as the analyst, who sees only that
// database, so the rows go there under a model id of their own and are deleted afterwards).

const env = loadEnv()
const MODEL = `ref-${uniqueId()}`
const START = Date.UTC(2026, 9, 1)
const dir = mkdtempSync(join(tmpdir(), 'reference-it-'))
const configPath = join(dir, 'driftgate.yaml')
let ch: ClickHouse

const profileAt = (path: string): ReferenceProfile => JSON.parse(readFileSync(path, 'utf8')) as ReferenceProfile

function expectSampleProfile(profile: ReferenceProfile): void {
  const x = profile.numeric.x!
  expect({ count: x.count, null_rate: x.null_rate, min: x.min, max: x.max }).toEqual({ count: 1000, null_rate: 0.2, min: 0, max: 999 })
  expect(x.mean).toBeCloseTo(EXPECTED.x.mean, 9)
  expect(x.std).toBeCloseTo(EXPECTED.x.std, 9)
  expect(profile.categorical.c).toEqual(EXPECTED.c)
  expect(profile.performance).toMatchObject(EXPECTED.performance)
}

const predictionRow = (p: ReturnType<typeof samplePredictions>[number], offset: number) => ({
  prediction_id: p.prediction_id,
  model_id: p.model_id,
  model_version: p.model_version,
  event_time: p.event_time,
  event_date: new Date(p.event_time).toISOString().slice(0, 10),
  numeric_names: Object.keys(p.numeric_features),
  numeric_values: Object.values(p.numeric_features),
  categorical_names: Object.keys(p.categorical_features),
  categorical_values: Object.values(p.categorical_features),
  predicted_class: p.prediction.predicted_class,
  score: p.prediction.scores.yes ?? null,
  class_names: Object.keys(p.prediction.scores),
  class_scores: Object.values(p.prediction.scores),
  predicted_value: null,
  segment_names: [],
  segment_values: [],
  kafka_partition: 0,
  kafka_offset: offset,
  kafka_timestamp: p.event_time + offset,
  ingested_at: p.event_time,
})

beforeAll(async () => {
  writeFileSync(
    configPath,
    [
      'models:',
      `  - model_id: ${MODEL}`,
      '    task: binary_classification',
      '    positive_class: "yes"',
      '    classes: ["yes", "no"]',
      '    features: { numeric: [x], categorical: [c] }',
      `    reference_profile: profiles/${MODEL}.json`,
    ].join('\n'),
  )
  ch = new ClickHouse({ url: CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE })
  const inRange = samplePredictions(MODEL, START)
  // Outside [from, to): an hour before and after, with values that would move every figure.
  const outside = [START - 3_600_000, START + 2 * 3_600_000].map((t, k) => ({
    ...inRange[0]!,
    prediction_id: `${MODEL}-out-${k}`,
    event_time: t,
    numeric_features: { x: 1e6 },
    categorical_features: { c: 'zzz' },
  }))
  // A second copy of a prediction (another offset, later): the first arrival counts.
  const copy = { ...inRange[5]!, numeric_features: { x: -1e6 } }
  const rows = [...inRange.map((p, i) => predictionRow(p, i)), ...outside.map((p, k) => predictionRow(p, 10_000 + k)), predictionRow(copy, 20_000)]
  await ch.insert('predictions', rows)
  // Each label first sent wrong, then corrected later: the latest label_time counts.
  const labels = sampleLabels(MODEL, START + 86_400_000)
  const wrong = labels.map((l) => ({ ...l, label_time: l.label_time - 1000, label_class: l.label_class === 'yes' ? 'no' : 'yes' }))
  await ch.insert(
    'labels',
    [...wrong, ...labels].map((l, i) => ({
      ...l,
      label_date: new Date(l.label_time).toISOString().slice(0, 10),
      kafka_partition: 0,
      kafka_offset: i,
      kafka_timestamp: l.label_time,
      ingested_at: l.label_time,
    })),
  )
})

afterAll(async () => {
  for (const table of ['predictions', 'labels']) await ch.command(`ALTER TABLE ${ch.table(table)} DELETE WHERE model_id = ${lit(MODEL)}`)
  await ch.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('driftgate reference build', () => {
  it('builds from stored predictions of a time range, as the analyst, where the config points', async () => {
    const to = new Date(START + 1250 * 1000).toISOString()
    const answer = await driftgate(['reference', 'build', '--model', MODEL, '--from', new Date(START).toISOString(), '--to', to], {
      DRIFTGATE_CONFIG: configPath,
    })
    expect(answer).toMatchObject({ code: 0, err: '' })
    expect(answer.out).toMatch(/1250 predictions, 1000 labeled/)
    const profile = profileAt(join(dir, 'profiles', `${MODEL}.json`))
    expect(profile.model_id).toBe(MODEL)
    expect(profile.source).toMatch(/^stored:2026-10-01T00:00:00.000Z\//)
    expectSampleProfile(profile)
  })

  it('builds from a JSON-lines training sample', async () => {
    const file = join(dir, 'sample.jsonl')
    const lines = [...samplePredictions(MODEL, START), ...sampleLabels(MODEL, START + 86_400_000)].map((e) => JSON.stringify(e))
    writeFileSync(file, lines.join('\n') + '\n')
    const out = join(dir, 'from-file.json')
    const answer = await driftgate(['reference', 'build', '--model', MODEL, '--file', file, '--out', out], { DRIFTGATE_CONFIG: configPath })
    expect(answer).toMatchObject({ code: 0, err: '' })
    expectSampleProfile(profileAt(out))
  })

  it('refuses a sample that does not fit the config, and an empty range, in one line each', async () => {
    const file = join(dir, 'renamed.jsonl')
    writeFileSync(
      file,
      samplePredictions(MODEL, START)
        .map((p) => JSON.stringify({ ...p, numeric_features: { y: 1 } }))
        .join('\n'),
    )
    const bad = await driftgate(['reference', 'build', '--model', MODEL, '--file', file, '--out', join(dir, 'never.json')], { DRIFTGATE_CONFIG: configPath })
    expect(bad.code).toBe(1)
    expect(bad.err).toMatch(/unknown numeric feature 'y' in 1250 predictions/)
    expect(bad.err).toMatch(/missing numeric feature 'x'/)
    const empty = await driftgate(['reference', 'build', '--model', MODEL, '--from', '2020-01-01', '--to', '2020-01-02', '--out', join(dir, 'never.json')], {
      DRIFTGATE_CONFIG: configPath,
    })
    expect(empty.code).toBe(1)
    expect(empty.err).toMatch(/too few rows: 0 predictions, at least 500 needed/)
    const unknown = await driftgate(['reference', 'build', '--model', 'nope', '--file', file], { DRIFTGATE_CONFIG: configPath })
    expect(unknown.err).toMatch(/model 'nope' is not in the config/)
  })
})
