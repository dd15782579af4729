import { describe, expect, it } from 'vitest'
import { checkAvroBounds } from '../../../services/shared/codec/avro-bounds.ts'
import { fastReader } from '../../../services/shared/codec/avro-fast-read.ts'
import { readerType } from '../../../services/shared/codec/event-codec.ts'
import { checkLabel, checkPrediction } from '../../../services/shared/codec/event-shape.ts'
import type { RecordName } from '../../../services/shared/codec/schemas.ts'
import type { LabelEvent, PredictionEvent } from '../../../services/shared/events/types.ts'
import { mulberry32 } from '../../../services/shared/stats/random.ts'
import { mutate } from '../../support/fuzz-records.ts'

const NAMES = ['income', 'age', 'x', 'ü-Straße', '特徴', '', '__proto__', 'a'.repeat(64), 'b'.repeat(65), '0']

function randomKey(rand: () => number): string {
  return rand() < 0.7 ? NAMES[Math.floor(rand() * NAMES.length)]! : `k${Math.floor(rand() * 100_000)}`
}

function randomMap<T>(rand: () => number, value: () => T): Record<string, T> {
  const out: Record<string, T> = {}
  const n = Math.floor(rand() * 30)
  // defineProperty: a '__proto__' key as an own entry, as a producer's map may hold it.
  for (let i = 0; i < n; i++) Object.defineProperty(out, randomKey(rand), { value: value(), enumerable: true, writable: true, configurable: true })
  return out
}

function randomPrediction(rand: () => number, i: number): PredictionEvent {
  const number = (): number => (rand() < 0.1 ? -0 : (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20))
  return {
    prediction_id: `p-${i}-${'é'.repeat(Math.floor(rand() * 3))}`,
    model_id: rand() < 0.5 ? 'credit-default' : 'm',
    model_version: 'v1',
    event_time: Math.floor(rand() * 2 ** 45) * (rand() < 0.05 ? -1 : 1),
    numeric_features: randomMap(rand, () => (rand() < 0.2 ? null : number())),
    categorical_features: randomMap(rand, () => (rand() < 0.2 ? null : randomKey(rand))),
    prediction: { predicted_class: rand() < 0.3 ? null : '1', scores: randomMap(rand, number), value: rand() < 0.5 ? null : number() },
    segments: randomMap(rand, () => randomKey(rand)),
  }
}

function randomLabel(rand: () => number, i: number): LabelEvent {
  return {
    prediction_id: `p-${i}`,
    model_id: 'm',
    label_time: Math.floor(rand() * 2 ** 45),
    label_class: rand() < 0.5 ? null : randomKey(rand),
    label_value: rand() < 0.5 ? null : rand(),
  }
}

/** The fast reader of a bare Avro body. */
const bodyReader =
  (name: RecordName) =>
  (body: Buffer): unknown =>
    fastReader(name)!(body, 0)

/** What avsc, after the bounds walk, reads from a body: the value, or 'refused'. */
function avscRead(name: RecordName, body: Buffer): unknown {
  const type = readerType(name)
  try {
    checkAvroBounds(type, body)
    return type.fromBuffer(body)
  } catch {
    return 'refused'
  }
}

/** The event the codec makes of a decoded value, or the code it rejects it with. */
function checked(name: RecordName, raw: unknown): unknown {
  try {
    return name === 'PredictionEvent' ? checkPrediction(raw) : checkLabel(raw)
  } catch (error) {
    return { rejected: (error as Error).message }
  }
}

describe('fast Avro reader', () => {
  for (const name of ['PredictionEvent', 'LabelEvent'] as const) {
    const read = bodyReader(name)
    const type = readerType(name)
    const random = name === 'PredictionEvent' ? randomPrediction : randomLabel

    it(`reads ${name} records exactly as avsc does`, () => {
      const rand = mulberry32(7)
      for (let i = 0; i < 3_000; i++) {
        const body = type.toBuffer(random(rand, i))
        const fast = read(body)
        const slow = avscRead(name, body)
        expect(fast).not.toBeUndefined()
        // Same own keys in the same order, same values (avsc's records are class instances).
        expect(JSON.stringify(fast)).toBe(JSON.stringify(slow))
        expect(checked(name, fast)).toEqual(checked(name, slow))
      }
    })

    it(`accepts a mutated ${name} only where avsc does, with the same value`, () => {
      const rand = mulberry32(11)
      const seeds = Array.from({ length: 20 }, (_, i) => Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), type.toBuffer(random(rand, i))]))
      let accepted = 0
      let leftToAvsc = 0
      for (let i = 0; i < 40_000; i++) {
        const framed = mutate(rand, seeds[i % seeds.length]!, false, [1])
        const body = framed.subarray(5)
        // Read in place, after the Confluent header, as the codec reads it.
        const fast = framed.length >= 5 ? fastReader(name)!(framed, 5) : read(body)
        const slow = avscRead(name, body)
        if (fast === undefined) {
          if (slow !== 'refused') leftToAvsc++
          continue
        }
        accepted++
        expect(slow).not.toBe('refused')
        expect(JSON.stringify(fast)).toBe(JSON.stringify(slow))
        expect(checked(name, fast)).toEqual(checked(name, slow))
      }
      // Both paths are exercised, and the fast one leaves little to avsc.
      expect(accepted).toBeGreaterThan(2_000)
      expect(leftToAvsc).toBeLessThan(accepted / 100)
    })
  }

  it('interns keys without confusing two that share a slot', () => {
    const read = bodyReader('LabelEvent')
    const type = readerType('PredictionEvent')
    const readPrediction = bodyReader('PredictionEvent')
    // 20,000 distinct keys over 4,096 slots: many collide; each must come back as written.
    for (let i = 0; i < 20_000; i += 100) {
      const keys = Array.from({ length: 100 }, (_, j) => `feature_${i + j}`)
      const event = { ...randomPrediction(mulberry32(i), i), numeric_features: Object.fromEntries(keys.map((k, j) => [k, j])) }
      const back = readPrediction(type.toBuffer(event)) as PredictionEvent
      expect(Object.keys(back.numeric_features)).toEqual(keys)
      expect(read(Buffer.from([1])) ?? 'refused').toBe('refused')
    }
  })
})
