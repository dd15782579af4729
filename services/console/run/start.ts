import { ClickHouse } from '../../shared/clickhouse/client.ts'
import { assertReadOnlyUser } from '../../shared/clickhouse/read-only-user.ts'
import { EventCodec } from '../../shared/codec/event-codec.ts'
import { readOnlyPassword, type Env } from '../../shared/config/env.ts'
import { loadDriftgateConfig } from '../../shared/config/model-config.ts'
import { createKafka } from '../../shared/kafka/kafka-client.ts'
import { topicNames } from '../../shared/kafka/topics.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import { modelIdReader } from '../../cli/dead-letters.ts'
import { kafkaDeadLetters, startConsole, type ConsoleServer } from './console-server.ts'

/** The console wired from the environment: the read-only ClickHouse user (checked before the
 *  first page), the dead-letter topic, the policy service's approval API. */
export async function startConsoleFromEnv(
  env: Env,
  logger: Logger,
  overrides: { port?: number; host?: string } = {},
): Promise<ConsoleServer & { closeAll(): Promise<void> }> {
  const config = loadDriftgateConfig(env.DRIFTGATE_CONFIG)
  const ch = new ClickHouse({
    url: env.CLICKHOUSE_URL,
    database: env.CLICKHOUSE_DATABASE,
    username: env.CLICKHOUSE_READONLY_USER,
    password: readOnlyPassword(env),
    readOnly: true,
  })
  await assertReadOnlyUser(ch, env.CLICKHOUSE_READONLY_USER)
  const topics = topicNames(env.TOPIC_PREFIX)
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'driftgate-console' }, logger)
  const server = await startConsole({
    ch,
    config,
    policyApiUrl: env.POLICY_API_URL ?? `http://${env.POLICY_API_HOST === '0.0.0.0' ? '127.0.0.1' : env.POLICY_API_HOST}:${env.POLICY_API_PORT}`,
    deadLetters: kafkaDeadLetters(kafka, topics.deadLetter, modelIdReader(EventCodec.forRegistry(env.SCHEMA_REGISTRY_URL), topics.labels)),
    logger,
    port: overrides.port ?? env.CONSOLE_PORT,
    host: overrides.host ?? env.CONSOLE_HOST,
  })
  return {
    ...server,
    async closeAll() {
      await server.close()
      await ch.close()
    },
  }
}
