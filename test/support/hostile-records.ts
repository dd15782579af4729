import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'

/** A record that must end in the dead-letter topic with `code`, and never stop consumption. */
export interface HostileRecord {
  name: string
  topic: 'predictions' | 'labels'
  key: string
  value: Buffer
  /** Kafka timestamp to produce it with (ms). */
  at: number
  code: string
}

export interface HostileOptions {
  /** A model the monitor is configured for (so that only the hostile part is rejected). */
  modelId: string
  /** Registry ids of the PredictionEvent and LabelEvent schemas on the topics. */
  predictionSchemaId: number
  labelSchemaId: number
  /** Kafka timestamp of ordinary records. */
  now: number
  /** Makes ids unique when the catalogue is used many times in one topic. */
  serial: string
  /** Size of the two oversized cases (defaults: 10,000 feature names, a 100 kB value). */
  features?: number
  valueBytes?: number
}

const framed = (schemaId: number, body: Buffer): Buffer => {
  const header = Buffer.alloc(5)
  header.writeUInt32BE(schemaId, 1)
  return Buffer.concat([header, body])
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))

function prediction(o: HostileOptions, id: string, overrides: Partial<PredictionEvent> = {}): PredictionEvent {
  return {
    prediction_id: id,
    model_id: o.modelId,
    model_version: 'v1',
    event_time: o.now - 60_000,
    numeric_features: {},
    categorical_features: {},
    prediction: { predicted_class: '1', scores: { '0': 0.25, '1': 0.75 }, value: null },
    segments: {},
    ...overrides,
  }
}

function label(o: HostileOptions, id: string, overrides: Partial<LabelEvent> = {}): LabelEvent {
  return { prediction_id: id, model_id: o.modelId, label_time: o.now - 30_000, label_class: '1', label_value: null, ...overrides }
}

/**
 * The records that stopped or froze the monitor when first tried from outside, each small enough
 * for a default broker (1 MB records are produced by the tests that need them). The Avro bomb is
 * a PredictionEvent whose first map claims 2^62 entries in 12 bytes.
 */
export function hostileRecords(o: HostileOptions): HostileRecord[] {
  const id = (what: string): string => `hostile-${o.serial}-${what}`
  const year2200 = Date.UTC(2200, 0, 1)
  const cases: (Omit<HostileRecord, 'at'> & { at?: number })[] = [
    {
      name: 'avro map count beyond the bytes left',
      topic: 'predictions',
      key: id('bomb'),
      value: framed(o.predictionSchemaId, Buffer.from('026102620263800180808040', 'hex')),
      code: 'malformed_avro',
    },
    { name: 'avro cut short', topic: 'labels', key: id('cut'), value: framed(o.labelSchemaId, Buffer.from('0a6162', 'hex')), code: 'malformed_avro' },
    { name: 'unknown schema id', topic: 'predictions', key: id('schema'), value: framed(0x7ffffff0, Buffer.from('00', 'hex')), code: 'unknown_schema_id' },
    { name: 'neither Avro nor JSON', topic: 'labels', key: id('text'), value: Buffer.from('label: 1'), code: 'unknown_framing' },
    { name: 'empty value', topic: 'predictions', key: id('empty'), value: Buffer.alloc(0), code: 'empty_message' },
    { name: 'JSON cut short', topic: 'labels', key: id('json-cut'), value: Buffer.from('{"prediction_id":"x","model_id"'), code: 'malformed_json' },
    {
      name: 'unpaired surrogate in a JSON label',
      topic: 'labels',
      key: id('surrogate'),
      value: Buffer.from(
        `{"prediction_id":"\\ud800${o.serial}","model_id":"${o.modelId}","label_time":${o.now - 30_000},"label_class":"1","label_value":null}`,
      ),
      code: 'malformed_string',
    },
    {
      name: 'unpaired surrogate in a category',
      topic: 'predictions',
      key: id('surrogate-cat'),
      value: Buffer.from(
        JSON.stringify(prediction(o, id('surrogate-cat'))).replace('"categorical_features":{}', '"categorical_features":{"country":"\\udc00"}'),
      ),
      code: 'malformed_string',
    },
    // Produced at that time too, so that only the Date range can reject it.
    {
      name: 'event time beyond the Date range',
      topic: 'predictions',
      key: id('year-2200'),
      value: json(prediction(o, id('year-2200'), { event_time: year2200 })),
      at: year2200,
      code: 'time_out_of_range',
    },
    { name: 'label time before 1970', topic: 'labels', key: id('1969'), value: json(label(o, id('1969'), { label_time: -86_400_000 })), code: 'invalid_event' },
    {
      name: 'thousands of unconfigured features',
      topic: 'predictions',
      key: id('features'),
      value: json(
        prediction(o, id('features'), { numeric_features: Object.fromEntries(Array.from({ length: o.features ?? 10_000 }, (_, i) => [`f${i}`, i])) }),
      ),
      code: 'too_many_features',
    },
    {
      name: 'a category value of many kB',
      topic: 'predictions',
      key: id('long-category'),
      value: json(prediction(o, id('long-category'), { categorical_features: { country: 'x'.repeat(o.valueBytes ?? 100_000) } })),
      code: 'value_too_long',
    },
    {
      name: 'a model nobody configured',
      topic: 'labels',
      key: id('model'),
      value: json(label(o, id('model'), { model_id: `${o.modelId}-nobody` })),
      code: 'unknown_model',
    },
  ]
  return cases.map((c) => ({ ...c, at: c.at ?? o.now }))
}
