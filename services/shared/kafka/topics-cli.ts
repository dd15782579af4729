import { loadEnv } from '../config/env.ts'
import { createLogger } from '../logging/logger.ts'
import { createKafka } from './kafka-client.ts'
import { ensureTopics, topicNames, topicSpecs } from './topics.ts'

const env = loadEnv()
const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'driftgate-topics' }, createLogger('topics', env.LOG_LEVEL))
const { created, existing } = await ensureTopics(kafka, topicSpecs(topicNames(env.TOPIC_PREFIX), env.EVENT_PARTITIONS))
console.log(`topics: created ${created.length} (${created.join(', ') || 'none'}), already there ${existing.length}`)
