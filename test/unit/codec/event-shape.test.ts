import avro from 'avsc'
import { describe, expect, it } from 'vitest'
import { DecodeError } from '../../../services/shared/codec/decode-error.ts'
import { checkLabel, checkPrediction, labelShape, predictionShape } from '../../../services/shared/codec/event-shape.ts'
import { schemaText } from '../../../services/shared/codec/schemas.ts'
import { sampleLabel, samplePrediction } from '../../support/events.ts'

// checkPrediction/checkLabel take a quick path for well-formed records; the zod schemas are the
// rules. Every input here must get from the check exactly what the schema alone gives: the same
// record, or a rejection (with the schema's message).

const odd: unknown[] = [
  undefined,
  null,
  '',
  'x',
  0,
  -1,
  1.5,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  8_640_000_000_000_001,
  true,
  [],
  {},
  [1],
  { a: 1 },
  { a: null },
  { a: 'b' },
  { a: Number.NaN },
  { a: [] },
  JSON.parse('{"__proto__": "x"}') as unknown,
  JSON.parse('{"__proto__": 1}') as unknown,
]

/** Every record obtained from `base` by setting one field (or one nested field) to an odd value,
 *  or removing it, plus extra unknown fields. */
function variants(base: Record<string, unknown>): unknown[] {
  const out: unknown[] = [base, { ...base, extra: 1 }]
  for (const key of Object.keys(base)) {
    const { [key]: _removed, ...without } = base
    out.push(without)
    for (const v of odd) out.push({ ...base, [key]: v })
    const nested = base[key]
    if (nested && typeof nested === 'object') {
      for (const inner of Object.keys(nested)) {
        const { [inner]: _gone, ...rest } = nested as Record<string, unknown>
        out.push({ ...base, [key]: rest })
        for (const v of odd) out.push({ ...base, [key]: { ...(nested as object), [inner]: v } })
      }
    }
  }
  return out
}

function outcome(check: (v: unknown) => unknown, v: unknown): { ok: unknown } | { error: string } {
  try {
    return { ok: check(v) }
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError)
    return { error: (error as DecodeError).message }
  }
}

function schemaOutcome(schema: typeof predictionShape | typeof labelShape, v: unknown): { ok: unknown } | { error: string } {
  const result = schema.safeParse(v)
  return result.success ? { ok: result.data } : { error: 'rejected' }
}

describe('event shape checks', () => {
  it('give every prediction variant what the schema gives', () => {
    const all = variants(samplePrediction() as unknown as Record<string, unknown>)
    expect(all.length).toBeGreaterThan(300)
    let accepted = 0
    for (const v of all) {
      const got = outcome(checkPrediction, v)
      const want = schemaOutcome(predictionShape, v)
      if ('ok' in want) {
        // The schema accepts it; the check adds only the "some output" rule.
        const p = (want.ok as { prediction: { predicted_class: unknown; value: unknown; scores: object } }).prediction
        if (p.predicted_class === null && p.value === null && Object.keys(p.scores).length === 0)
          expect(got).toEqual({ error: 'prediction: has neither predicted_class, scores nor value' })
        else {
          expect(got, JSON.stringify(v)).toEqual(want)
          accepted++
        }
      } else expect('error' in got, JSON.stringify(v)).toBe(true)
    }
    expect(accepted).toBeGreaterThan(20)
  })

  it('give every label variant what the schema gives', () => {
    for (const v of variants(sampleLabel() as unknown as Record<string, unknown>)) {
      const got = outcome(checkLabel, v)
      const want = schemaOutcome(labelShape, v)
      if ('ok' in want) {
        const l = want.ok as { label_class: unknown; label_value: unknown }
        if (l.label_class === null && l.label_value === null) expect(got).toEqual({ error: 'label: has neither label_class nor label_value' })
        else expect(got, JSON.stringify(v)).toEqual(want)
      } else expect('error' in got, JSON.stringify(v)).toBe(true)
    }
  })

  it('return a plain record with only the contract fields for an Avro-decoded one', () => {
    const type = avro.Type.forSchema(JSON.parse(schemaText('PredictionEvent')) as avro.Schema)
    const decoded = type.fromBuffer(type.toBuffer(samplePrediction()))
    const event = checkPrediction(decoded)
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype)
    expect(event).toEqual(samplePrediction())
    expect(event).toEqual(predictionShape.parse(decoded))
  })

  it('reject with the schema message what the quick path cannot accept', () => {
    expect(() => checkPrediction({ ...samplePrediction(), event_time: 1.5 })).toThrow(/event_time: must be an integer number of ms/)
    expect(() => checkLabel({ ...sampleLabel(), prediction_id: '' })).toThrow(/prediction_id: must not be empty/)
  })
})
