import { DecodeError } from '../codec/decode-error.ts'
import { EventCodec } from '../codec/event-codec.ts'
import { checkLabel, checkPrediction } from '../codec/event-shape.ts'
import type { LabelEvent, PredictionEvent } from '../events/types.ts'
import { createKafka } from '../kafka/kafka-client.ts'
import { createProducer, type RecordProducer } from '../kafka/producer.ts'
import type { OutgoingRecord } from '../kafka/records.ts'
import { topicNames, type TopicNames } from '../kafka/topics.ts'
import { createLogger, type Logger } from '../logging/logger.ts'

/**
 * What a production service uses to emit its events per the contract: validated before they
 * leave (a bad event throws InvalidEventError naming the field, instead of landing in the
 * dead-letter topic later), Avro-encoded with the Confluent framing, keyed by prediction_id
 * (so a label lands on its prediction's partition), sent with acks from all replicas.
 *
 *   const events = await createEventProducer({ brokers: ['kafka:9092'], schemaRegistryUrl: 'http://registry:8081' })
 *   await events.sendPredictions([prediction])
 *   await events.sendLabels([label])
 *   await events.close()
 */
export interface EventProducer {
  sendPredictions(events: PredictionEvent[], options?: { timestamps?: number[] }): Promise<void>
  sendLabels(events: LabelEvent[], options?: { timestamps?: number[] }): Promise<void>
  close(): Promise<void>
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError'
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message)
  }
}

export interface EventProducerOptions {
  brokers: string[]
  schemaRegistryUrl: string
  topicPrefix?: string
  clientId?: string
  logger?: Logger
  /** Send JSON instead of Avro (for producers without a schema registry). */
  json?: boolean
}

function validated<T>(events: T[], check: (raw: unknown) => T): T[] {
  return events.map((event, index) => {
    try {
      return check(event)
    } catch (error) {
      if (error instanceof DecodeError) throw new InvalidEventError(index, `event ${index}: ${error.message}`)
      throw error
    }
  })
}

export async function createEventProducer(options: EventProducerOptions): Promise<EventProducer> {
  const logger = options.logger ?? createLogger('event-producer', 'warn')
  const kafka = createKafka({ brokers: options.brokers, clientId: options.clientId ?? 'driftgate-producer' }, logger)
  const producer: RecordProducer = await createProducer(kafka)
  const codec = EventCodec.forRegistry(options.schemaRegistryUrl)
  const topics: TopicNames = topicNames(options.topicPrefix ?? '')

  const encode = async (topic: string, name: 'PredictionEvent' | 'LabelEvent', event: PredictionEvent | LabelEvent): Promise<Buffer> =>
    options.json ? Buffer.from(JSON.stringify(event)) : codec.encode(topic, name, event as never)

  return {
    async sendPredictions(events, sendOptions) {
      const checked = validated(events, checkPrediction)
      const records: OutgoingRecord[] = []
      for (const [i, event] of checked.entries()) {
        records.push({ key: event.prediction_id, value: await encode(topics.predictions, 'PredictionEvent', event), timestamp: sendOptions?.timestamps?.[i] })
      }
      await producer.send(topics.predictions, records)
    },
    async sendLabels(events, sendOptions) {
      const checked = validated(events, checkLabel)
      const records: OutgoingRecord[] = []
      for (const [i, event] of checked.entries()) {
        records.push({ key: event.prediction_id, value: await encode(topics.labels, 'LabelEvent', event), timestamp: sendOptions?.timestamps?.[i] })
      }
      await producer.send(topics.labels, records)
    },
    close: () => producer.close(),
  }
}
