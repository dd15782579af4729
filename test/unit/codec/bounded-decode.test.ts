import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import avro from 'avsc'
import { checkAvroBounds } from '../../../services/shared/codec/avro-bounds.ts'
import { DecodeError } from '../../../services/shared/codec/decode-error.ts'
import { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import { startRegistryDouble, type RegistryDouble } from '../../support/schema-registry-double.ts'
import { samplePrediction } from '../../support/events.ts'

let registry: RegistryDouble
let codec: EventCodec
let predictionId: number

beforeAll(async () => {
  registry = await startRegistryDouble()
  codec = EventCodec.forRegistry(registry.url)
  predictionId = (await codec.encode('predictions', 'PredictionEvent', samplePrediction())).readInt32BE(1)
})
afterAll(() => registry.close())

const frame = (schemaId: number, body: Buffer): Buffer => {
  const header = Buffer.alloc(5)
  header.writeInt32BE(schemaId, 1)
  return Buffer.concat([header, body])
}

const rejection = async (value: Buffer): Promise<DecodeError> => {
  const error = await codec.decodePrediction(value).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DecodeError)
  return error as DecodeError
}

describe('bounded decoding', () => {
  it('rejects a map claiming 2^62 entries in 12 bytes in well under 100 ms', async () => {
    // prediction_id "a", model_id "b", model_version "c", event_time 2^..., then a map count of 2^62.
    const started = performance.now()
    const error = await rejection(frame(predictionId, Buffer.from('026102620263800180808040', 'hex')))
    expect(performance.now() - started).toBeLessThan(100)
    expect(error.code).toBe('malformed_avro')
    expect(error.message).toMatch(/claims \d+ entries/)
  })

  it('walks a recursive writer schema, and stops at 64 levels of nesting', () => {
    const node = avro.Type.forSchema({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'tags', type: { type: 'map', values: 'null' } },
        { name: 'next', type: ['null', 'Node'] },
      ],
    })
    type Node = { tags: Record<string, null>; next: Node | null }
    const chain = (n: number): Node => (n === 0 ? { tags: { a: null }, next: null } : { tags: {}, next: chain(n - 1) })
    // Each link is a record and a union: two levels.
    expect(() => checkAvroBounds(node, node.toBuffer(chain(31)))).not.toThrow()
    expect(() => checkAvroBounds(node, node.toBuffer(chain(32)))).toThrow('values nested deeper than 64')
    expect(() => checkAvroBounds(node, node.toBuffer(chain(5)).subarray(0, 4))).toThrow()
  })

  it('rejects every truncation of a valid record without reading past it', async () => {
    const valid = await codec.encode('predictions', 'PredictionEvent', samplePrediction())
    for (let cut = 5; cut < valid.length; cut++) {
      const error = await rejection(valid.subarray(0, cut))
      expect(error.code).toBe('malformed_avro')
    }
    expect((await codec.decodePrediction(valid)).event).toEqual(samplePrediction())
  })

  it('rejects a record above the size limit before decoding it', async () => {
    const small = EventCodec.forRegistry(registry.url, { maxRecordBytes: 100 })
    const error = await small.decodePrediction(Buffer.from(`{"x":"${'a'.repeat(200)}"}`)).catch((e: DecodeError) => e)
    expect((error as DecodeError).code).toBe('record_too_large')
  })

  it('asks the registry about an unknown schema id once per time limit, and treats a registry outage as infrastructure', async () => {
    let now = 0
    let requests = 0
    const counting = await startRegistryDouble()
    const original = counting.server.listeners('request')[0] as (...a: unknown[]) => void
    counting.server.removeAllListeners('request')
    counting.server.on('request', (...a: unknown[]) => {
      requests++
      original(...a)
    })
    const c = EventCodec.forRegistry(counting.url, { unknownIdTtlMs: 60_000, now: () => now })
    for (let i = 0; i < 50; i++)
      expect(((await c.decodePrediction(frame(999_999, Buffer.from('00', 'hex'))).catch((e: DecodeError) => e)) as DecodeError).code).toBe('unknown_schema_id')
    expect(requests).toBe(1)
    now = 61_000
    await c.decodePrediction(frame(999_999, Buffer.from('00', 'hex'))).catch(() => undefined)
    expect(requests).toBe(2)
    await counting.close()
    const down = await c.decodePrediction(frame(999_998, Buffer.from('00', 'hex'))).catch((e: Error) => e)
    expect(down).not.toBeInstanceOf(DecodeError)
    expect((down as Error).name).toBe('InfrastructureError')
  })

  it('rejects what ClickHouse would refuse or what would grow without bound, naming the field and the limit', async () => {
    const json = (overrides: object): Buffer => Buffer.from(JSON.stringify({ ...samplePrediction(), ...overrides }))
    const cases: [Buffer, string, RegExp][] = [
      [Buffer.from(JSON.stringify(samplePrediction()).replace('"p-1"', '"p-\\ud800"')), 'malformed_string', /prediction_id holds an unpaired/],
      [Buffer.from(JSON.stringify(samplePrediction()).replace('"DE"', '"\\udc00x"')), 'malformed_string', /categorical_features.country/],
      [json({ event_time: Date.UTC(2200, 0, 1) }), 'time_out_of_range', /event_time .* 2105-12-31/],
      [
        json({ numeric_features: Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`f${i}`, i])) }),
        'too_many_features',
        /1003 features, more than the 1000/,
      ],
      [json({ categorical_features: { country: 'x'.repeat(1_025) } }), 'value_too_long', /categorical_features.country is 1025 characters/],
      [json({ segments: Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`s${i}`, 'v'])) }), 'too_many_entries', /segments has 1001 entries/],
    ]
    for (const [value, code, reason] of cases) {
      const error = await rejection(value)
      expect({ code: error.code, reason: reason.test(error.message) ? 'matches' : error.message }).toEqual({ code, reason: 'matches' })
    }
    // A surrogate pair (an emoji) is well-formed and accepted; so are values at the limits.
    const ok = samplePrediction({ prediction_id: 'p-\u{1F600}', event_time: Date.UTC(2105, 11, 31), categorical_features: { country: 'x'.repeat(1_024) } })
    expect((await codec.decodePrediction(Buffer.from(JSON.stringify(ok)))).event).toEqual(ok)
  })
})
