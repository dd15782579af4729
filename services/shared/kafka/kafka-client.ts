import { Kafka, logLevel, type KafkaConfig } from 'kafkajs'
import type { Logger } from '../logging/logger.ts'
import { registerCodecs } from './codecs.ts'
import { quietIdleConnections } from './request-queue-timer.ts'
import { fastVarLongs } from './varlong-reader.ts'

// kafkajs is no longer actively maintained: this folder is the only place that imports it, so a
// switch to another client touches services/shared/kafka/ alone.

export interface KafkaSettings {
  brokers: string[]
  clientId: string
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

// Notices about choices made on purpose here (default partitioner, bounded producer retries).
const IGNORED = ['KafkaJS v2.0.0 switched default partitioner', 'Limiting retries for the idempotent producer']

export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  registerCodecs()
  quietIdleConnections()
  fastVarLongs()
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers: settings.brokers,
    // kafkajs logs rebalances and retries at INFO/ERROR; WARN and above reach our logs.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log
        if (IGNORED.some((text) => message.startsWith(text))) return
        logger[LEVELS[level] ?? 'info']({ event: 'kafka_client', ...extra }, message)
      },
    retry: { initialRetryTime: 200, retries: 8 },
  }
  return new Kafka(config)
}
