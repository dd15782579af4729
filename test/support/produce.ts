import type { Kafka } from 'kafkajs'
import type { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import type { OutgoingRecord } from '../../services/shared/kafka/records.ts'
import type { TopicNames } from '../../services/shared/kafka/topics.ts'
import type { Emission } from './traffic.ts'

/** Produces emissions in order with their Kafka timestamps; every 7th prediction as JSON. */
export async function produceEmissions(kafka: Kafka, codec: EventCodec, topics: TopicNames, emissions: Emission[]): Promise<void> {
  const producer = await createProducer(kafka)
  try {
    const chunk: { topic: string; record: OutgoingRecord }[] = []
    let n = 0
    const flush = async (): Promise<void> => {
      // Labels of a chunk go first, so labels sent shortly before their prediction really arrive first.
      for (const topic of [topics.labels, topics.predictions]) {
        const records = chunk.filter((c) => c.topic === topic).map((c) => c.record)
        await producer.send(topic, records)
      }
      chunk.length = 0
    }
    for (const e of emissions) {
      if (e.kind === 'raw') {
        chunk.push({ topic: e.topic === 'predictions' ? topics.predictions : topics.labels, record: { key: e.key, value: e.value, timestamp: e.at } })
      } else if (e.kind === 'prediction') {
        const value = n++ % 7 === 0 ? Buffer.from(JSON.stringify(e.event)) : await codec.encode(topics.predictions, 'PredictionEvent', e.event)
        chunk.push({ topic: topics.predictions, record: { key: e.event.prediction_id, value, timestamp: e.at } })
      } else {
        chunk.push({
          topic: topics.labels,
          record: { key: e.event.prediction_id, value: await codec.encode(topics.labels, 'LabelEvent', e.event), timestamp: e.at },
        })
      }
      if (chunk.length >= 2000) await flush()
    }
    await flush()
  } finally {
    await producer.close()
  }
}
