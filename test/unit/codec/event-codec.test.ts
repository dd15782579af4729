import avro from 'avsc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DecodeError } from '../../../services/shared/codec/decode-error.ts'
import { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import { schemaText } from '../../../services/shared/codec/schemas.ts'
import { startRegistryDouble, type RegistryDouble } from '../../support/schema-registry-double.ts'
import { sampleLabel, samplePrediction } from '../../support/events.ts'

let registry: RegistryDouble
let codec: EventCodec

beforeAll(async () => {
  registry = await startRegistryDouble()
  codec = EventCodec.forRegistry(registry.url)
})
afterAll(() => registry.close())

/** Confluent framing written by hand: magic byte 0, big-endian schema id, Avro binary. */
function frame(schemaId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(5)
  header.writeUInt8(0, 0)
  header.writeInt32BE(schemaId, 1)
  return Buffer.concat([header, payload])
}

async function registerRaw(subject: string, schema: object): Promise<number> {
  const res = await fetch(`${registry.url}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  })
  return ((await res.json()) as { id: number }).id
}

describe('EventCodec', () => {
  it('encodes a prediction in the Confluent wire format that plain avsc reads back', async () => {
    const event = samplePrediction()
    const bytes = await codec.encode('predictions', 'PredictionEvent', event)
    expect(bytes[0]).toBe(0)
    const id = bytes.readInt32BE(1)
    const schema = (await (await fetch(`${registry.url}/schemas/ids/${id}`)).json()) as { schema: string }
    const decoded = avro.Type.forSchema(JSON.parse(schema.schema) as avro.Schema).fromBuffer(bytes.subarray(5))
    expect(decoded).toEqual(event)
  })

  it('decodes bytes framed independently with avsc and a hand-built header, field for field', async () => {
    const type = avro.Type.forSchema(JSON.parse(schemaText('PredictionEvent')) as avro.Schema)
    const id = await registerRaw('independent-value', JSON.parse(schemaText('PredictionEvent')) as object)
    const event = samplePrediction({ prediction_id: 'p-indep', numeric_features: { a: -1.5, b: null }, segments: {} })
    const decoded = await codec.decodePrediction(frame(id, type.toBuffer(event)))
    expect(decoded.format).toBe('avro')
    expect(decoded.schemaId).toBe(id)
    expect(decoded.event).toEqual(event)
  })

  it('decodes at once, without a promise, once the writer schema is known; refuses by throwing', async () => {
    const fresh = EventCodec.forRegistry(registry.url)
    const type = avro.Type.forSchema(JSON.parse(schemaText('PredictionEvent')) as avro.Schema)
    const id = await registerRaw('now-value', JSON.parse(schemaText('PredictionEvent')) as object)
    const first = samplePrediction({ prediction_id: 'p-first' })
    const second = samplePrediction({ prediction_id: 'p-second' })
    const pending = fresh.decodePredictionNow(frame(id, type.toBuffer(first)))
    expect(pending).toBeInstanceOf(Promise)
    expect((await pending).event).toEqual(first)
    const now = fresh.decodePredictionNow(frame(id, type.toBuffer(second)))
    expect(now).not.toBeInstanceOf(Promise)
    expect(now).toEqual({ event: second, format: 'avro', schemaId: id })
    expect(fresh.decodeLabelNow(Buffer.from(JSON.stringify(sampleLabel())))).toEqual({ event: sampleLabel(), format: 'json' })
    // The same error the promise API rejects with, thrown.
    const bad = frame(id, type.toBuffer(second).subarray(0, 10))
    const thrown = (() => {
      try {
        fresh.decodePredictionNow(bad)
      } catch (error) {
        return error
      }
    })() as DecodeError
    const rejected = (await fresh.decodePrediction(bad).catch((e: unknown) => e)) as DecodeError
    expect(thrown).toBeInstanceOf(DecodeError)
    expect([thrown.code, thrown.message]).toEqual([rejected.code, rejected.message])
  })

  it('reads a record written with an older schema version (new fields take their defaults)', async () => {
    const current = JSON.parse(schemaText('LabelEvent')) as { fields: { name: string }[] }
    const older = { ...current, fields: current.fields.filter((f) => f.name !== 'label_value') }
    const id = await registerRaw('older-labels-value', older)
    const writer = avro.Type.forSchema(older as avro.Schema)
    const { label_value: _dropped, ...oldEvent } = sampleLabel()
    const decoded = await codec.decodeLabel(frame(id, writer.toBuffer(oldEvent)))
    expect(decoded.event).toEqual({ ...oldEvent, label_value: null })
  })

  it('accepts the same event as JSON on the same topic', async () => {
    const event = samplePrediction({ prediction_id: 'p-json' })
    const decoded = await codec.decodePrediction(Buffer.from(JSON.stringify(event)))
    expect(decoded).toEqual({ event, format: 'json' })
  })

  it('fills JSON defaults the Avro schema has (maps default to empty)', async () => {
    const { segments: _s, categorical_features: _c, ...minimal } = samplePrediction()
    const decoded = await codec.decodePrediction(Buffer.from(JSON.stringify(minimal)))
    expect(decoded.event.segments).toEqual({})
    expect(decoded.event.categorical_features).toEqual({})
  })

  it.each([
    ['an empty message', Buffer.alloc(0), 'empty_message', /no value/],
    ['an unknown first byte', Buffer.from('hello'), 'unknown_framing', /first byte 0x68/],
    ['broken JSON', Buffer.from('{"prediction_id": '), 'malformed_json', /not valid JSON/],
    ['a JSON event without model_id', Buffer.from(JSON.stringify({ ...samplePrediction(), model_id: undefined })), 'invalid_event', /model_id/],
    [
      'a JSON event with a string where a number belongs',
      Buffer.from(JSON.stringify(samplePrediction({ numeric_features: { age: '41' as unknown as number } }))),
      'invalid_event',
      /numeric_features\.age/,
    ],
    ['a truncated Confluent frame', Buffer.from([0, 0, 0]), 'malformed_avro', /at least 5 bytes/],
    ['an unknown schema id', frame(987_654, Buffer.from([2, 97])), 'unknown_schema_id', /987654/],
  ])('rejects %s with a clear error', async (_what, bytes, code, message) => {
    const error = await codec.decodePrediction(bytes).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DecodeError)
    expect((error as DecodeError).code).toBe(code)
    expect((error as DecodeError).message).toMatch(message)
  })

  it('rejects NaN in an Avro double (Avro allows it, the contract does not)', async () => {
    const type = avro.Type.forSchema(JSON.parse(schemaText('PredictionEvent')) as avro.Schema)
    const id = await registerRaw('nan-value', JSON.parse(schemaText('PredictionEvent')) as object)
    const bytes = frame(id, type.toBuffer(samplePrediction({ numeric_features: { age: Number.NaN } })))
    const error = (await codec.decodePrediction(bytes).catch((e: unknown) => e)) as DecodeError
    expect(error.code).toBe('invalid_event')
    expect(error.message).toMatch(/numeric_features\.age: must be a finite number/)
  })

  it('rejects a truncated Avro payload and a record of another schema', async () => {
    const good = await codec.encode('predictions', 'PredictionEvent', samplePrediction())
    const truncated = (await codec.decodePrediction(good.subarray(0, good.length - 6)).catch((e: unknown) => e)) as DecodeError
    expect(truncated.code).toBe('malformed_avro')
    const label = await codec.encode('labels', 'LabelEvent', sampleLabel())
    const wrong = (await codec.decodePrediction(label).catch((e: unknown) => e)) as DecodeError
    expect(wrong.code).toBe('incompatible_schema')
    expect(wrong.message).toMatch(/cannot be read as PredictionEvent/)
  })
})
