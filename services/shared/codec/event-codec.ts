import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import avro from 'avsc'
import type { LabelEvent, MonitorTrigger, PolicyDecision, PredictionEvent, RetrainRequest } from '../events/types.ts'
import { InfrastructureError } from '../errors/infrastructure-error.ts'
import { checkAvroBounds } from './avro-bounds.ts'
import { fastReader } from './avro-fast-read.ts'
import { DecodeError } from './decode-error.ts'
import { checkLabel, checkPrediction } from './event-shape.ts'
import { schemaText, valueSubject, type RecordName } from './schemas.ts'

interface RecordTypes {
  PredictionEvent: PredictionEvent
  LabelEvent: LabelEvent
  MonitorTrigger: MonitorTrigger
  PolicyDecision: PolicyDecision
  RetrainRequest: RetrainRequest
}

/** How records of one writer schema are read: avsc (with a resolver when the writer schema is
 *  not ours), and the fast reader where there is one (avro-fast-read.ts). */
interface AvroReader {
  writer: avro.Type
  type: avro.Type
  resolver: avro.Resolver | undefined
  fast: ((bytes: Buffer, start: number) => unknown) | null
}

const MAGIC_BYTE = 0
const JSON_OPEN_BRACE = 0x7b

export type WireFormat = 'avro' | 'json'

export interface Decoded<T> {
  event: T
  format: WireFormat
  /** Registry id of the writer schema (Avro only). */
  schemaId?: number
}

/**
 * Encodes and decodes the contract's records on Kafka. Avro uses the Confluent wire format
 * (magic byte 0, 4-byte big-endian schema id, Avro binary) with schemas from a Confluent-compatible
 * registry; records are read with our schema as reader schema, so writers on an older or newer
 * compatible version decode into today's shape. Producers that cannot write Avro may send the
 * same record as a UTF-8 JSON object on the same topic.
 */
export class EventCodec {
  private readonly ids = new Map<string, number>()
  // Bounded by the number of schema versions in the registry times the record names.
  private readonly readers = new Map<RecordName, Map<number, AvroReader>>()
  // Ids the registry said it does not know, until when that answer is trusted: a flood of
  // records with made-up ids must not become a flood of registry requests.
  private readonly unknownIds = new Map<number, number>()

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly options: { maxRecordBytes?: number; unknownIdTtlMs?: number; now?: () => number } = {},
  ) {}

  static forRegistry(url: string, options: EventCodec['options'] = {}): EventCodec {
    return new EventCodec(new SchemaRegistry({ host: url }, { [SchemaType.AVRO]: {} }), options)
  }

  /** Registers (or finds) the record's schema under `<topic>-value` and remembers its id. */
  async register(topic: string, name: RecordName): Promise<number> {
    const { id } = await this.registry.register({ type: SchemaType.AVRO, schema: schemaText(name) }, { subject: valueSubject(topic) })
    this.ids.set(topic, id)
    return id
  }

  async encode<N extends RecordName>(topic: string, name: N, record: RecordTypes[N]): Promise<Buffer> {
    const id = this.ids.get(topic) ?? (await this.register(topic, name))
    return this.registry.encode(id, record)
  }

  decodePrediction(value: Buffer | null): Promise<Decoded<PredictionEvent>> {
    return settle(() => this.decodePredictionNow(value))
  }

  decodeLabel(value: Buffer | null): Promise<Decoded<LabelEvent>> {
    return settle(() => this.decodeLabelNow(value))
  }

  /**
   * For the monitor's loop, which decodes a million records a minute: the record decoded at once
   * when its writer schema's reader is known (no promise, nothing to await), else a promise of
   * it. Throws DecodeError for a record that cannot be decoded.
   */
  decodePredictionNow(value: Buffer | null): Decoded<PredictionEvent> | Promise<Decoded<PredictionEvent>> {
    return this.decodeNow(value, 'PredictionEvent', checkPrediction)
  }

  decodeLabelNow(value: Buffer | null): Decoded<LabelEvent> | Promise<Decoded<LabelEvent>> {
    return this.decodeNow(value, 'LabelEvent', checkLabel)
  }

  /** Decodes any contract record without the event checks (triggers, decisions, requests). */
  decode<N extends RecordName>(value: Buffer | null, name: N): Promise<Decoded<RecordTypes[N]>> {
    return settle(() => this.decodeNow(value, name, (v) => v as RecordTypes[N]))
  }

  private decodeNow<T>(value: Buffer | null, name: RecordName, check: (raw: unknown) => T): Decoded<T> | Promise<Decoded<T>> {
    if (!value || value.length === 0) throw new DecodeError('empty_message', 'message has no value')
    const maxBytes = this.options.maxRecordBytes ?? MAX_RECORD_BYTES
    if (value.length > maxBytes) throw new DecodeError('record_too_large', `record value is ${value.length} bytes, more than the ${maxBytes} accepted`)
    if (value[0] === MAGIC_BYTE) {
      if (value.length < 5) throw new DecodeError('malformed_avro', `Confluent frame needs at least 5 bytes, got ${value.length}`)
      const schemaId = value.readInt32BE(1)
      const reader = this.readers.get(name)?.get(schemaId)
      if (reader) return { event: check(decodeAvro(reader, schemaId, value)), format: 'avro', schemaId }
      return this.readerFor(schemaId, name).then((r) => ({ event: check(decodeAvro(r, schemaId, value)), format: 'avro', schemaId }))
    }
    if (value[0] === JSON_OPEN_BRACE) {
      let raw: unknown
      try {
        raw = JSON.parse(value.toString('utf8'))
      } catch (error) {
        throw new DecodeError('malformed_json', `not valid JSON: ${(error as Error).message}`)
      }
      return { event: check(raw), format: 'json' }
    }
    throw new DecodeError('unknown_framing', `first byte 0x${value[0]!.toString(16).padStart(2, '0')} is neither the Confluent magic byte 0x00 nor '{' (JSON)`)
  }

  /** Reader type and resolver for one writer schema id, built once (building them per record is costly). */
  private async readerFor(schemaId: number, name: RecordName): Promise<AvroReader> {
    const cached = this.readers.get(name)?.get(schemaId)
    if (cached) return cached
    const now = this.options.now ?? Date.now
    const unknownUntil = this.unknownIds.get(schemaId)
    if (unknownUntil !== undefined && unknownUntil > now()) throw new DecodeError('unknown_schema_id', `schema id ${schemaId} is not in the registry`)
    let writer: avro.Type
    try {
      writer = (await this.registry.getSchema(schemaId)) as unknown as avro.Type
    } catch (error) {
      const status = (error as { status?: number }).status
      if (status === 404) {
        if (this.unknownIds.size >= 10_000) this.unknownIds.clear()
        this.unknownIds.set(schemaId, now() + (this.options.unknownIdTtlMs ?? 60_000))
        throw new DecodeError('unknown_schema_id', `schema id ${schemaId} is not in the registry`)
      }
      // The registry being unreachable is not the record's fault: the caller retries.
      throw new InfrastructureError(`schema registry lookup of id ${schemaId} failed: ${(error as Error).message}`, { cause: error })
    }
    const type = readerType(name)
    let resolver: avro.Resolver | undefined
    if (!type.equals(writer)) {
      try {
        resolver = type.createResolver(writer)
      } catch (error) {
        throw new DecodeError('incompatible_schema', `writer schema ${schemaId} cannot be read as ${name}: ${(error as Error).message}`)
      }
    }
    const entry = { writer, type, resolver, fast: resolver ? null : fastReader(name) }
    const ofName = this.readers.get(name) ?? new Map<number, AvroReader>()
    ofName.set(schemaId, entry)
    this.readers.set(name, ofName)
    return entry
  }
}

/** The record in a Confluent frame, read with the reader of its writer schema. */
function decodeAvro(reader: AvroReader, schemaId: number, value: Buffer): unknown {
  const fast = reader.fast?.(value, 5)
  if (fast !== undefined) return fast
  const body = value.subarray(5)
  try {
    checkAvroBounds(reader.writer, body)
  } catch (error) {
    throw new DecodeError('malformed_avro', `Avro payload for schema ${schemaId} does not fit its bytes: ${(error as Error).message}`)
  }
  try {
    return reader.type.fromBuffer(body, reader.resolver)
  } catch (error) {
    throw new DecodeError('malformed_avro', `Avro payload for schema ${schemaId} is malformed: ${(error as Error).message}`)
  }
}

/** Largest record value decoded (bigger ones are dead-lettered as record_too_large). */
export const MAX_RECORD_BYTES = 1024 * 1024

const readerTypes = new Map<RecordName, avro.Type>()

/** Our own schema for a record, parsed once per process. */
export function readerType(name: RecordName): avro.Type {
  let type = readerTypes.get(name)
  if (!type) {
    type = avro.Type.forSchema(JSON.parse(schemaText(name)) as avro.Schema)
    readerTypes.set(name, type)
  }
  return type
}

/** A value or promise as a promise that rejects, never throws. */
function settle<T>(get: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(get())
  } catch (error) {
    return Promise.reject(error as Error)
  }
}
