import type { Kafka } from 'kafkajs'

export interface TopicNames {
  predictions: string
  labels: string
  deadLetter: string
  triggers: string
  retrainRequests: string
}

export function topicNames(prefix = ''): TopicNames {
  return {
    predictions: `${prefix}predictions`,
    labels: `${prefix}labels`,
    deadLetter: `${prefix}dead-letter`,
    triggers: `${prefix}triggers`,
    retrainRequests: `${prefix}retrain-requests`,
  }
}

export interface TopicSpec {
  topic: string
  partitions: number
  /** Topics keyed by prediction_id that must keep equal partition counts. */
  coPartitioned?: boolean
}

export function topicSpecs(names: TopicNames, eventPartitions = 6): TopicSpec[] {
  return [
    // Co-partitioned: the same count, keyed by prediction_id.
    { topic: names.predictions, partitions: eventPartitions, coPartitioned: true },
    { topic: names.labels, partitions: eventPartitions, coPartitioned: true },
    { topic: names.deadLetter, partitions: 1 },
    // Keyed by model_id: one model's triggers and requests stay in order.
    { topic: names.triggers, partitions: 3 },
    { topic: names.retrainRequests, partitions: 3 },
  ]
}

/**
 * Creates missing topics; leaves existing ones alone. Predictions and labels with different
 * partition counts are an error: the label join relies on their co-partitioning (and adding
 * partitions later moves keys, so it is not done here).
 */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[]): Promise<{ created: string[]; existing: string[] }> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const existingNames = new Set(await admin.listTopics())
    const missing = specs.filter((s) => !existingNames.has(s.topic))
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({ topic: s.topic, numPartitions: s.partitions, replicationFactor: 1 })),
      })
    }
    const present = specs.filter((s) => existingNames.has(s.topic))
    const counted = specs.filter((s) => s.coPartitioned)
    if (counted.length > 1) {
      const metadata = await admin.fetchTopicMetadata({ topics: counted.map((s) => s.topic) })
      const counts = counted.map((s) => `${s.topic}=${metadata.topics.find((t) => t.name === s.topic)?.partitions.length}`)
      if (new Set(counts.map((c) => c.split('=')[1])).size !== 1) {
        throw new Error(`co-partitioned topics must have the same partition count, found ${counts.join(', ')}`)
      }
    }
    return { created: missing.map((s) => s.topic), existing: present.map((s) => s.topic) }
  } finally {
    await admin.disconnect()
  }
}
