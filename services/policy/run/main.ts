import { readFileSync } from 'node:fs'
import { Registry, collectDefaultMetrics } from 'prom-client'
import { ClickHouse } from '../../shared/clickhouse/client.ts'
import { startOpsServer } from '../../shared/http/ops-server.ts'
import { EventCodec } from '../../shared/codec/event-codec.ts'
import { loadEnv } from '../../shared/config/env.ts'
import { loadDriftgateConfig } from '../../shared/config/model-config.ts'
import { createKafka } from '../../shared/kafka/kafka-client.ts'
import { createProducer } from '../../shared/kafka/producer.ts'
import { topicNames } from '../../shared/kafka/topics.ts'
import { createLogger } from '../../shared/logging/logger.ts'
import { loadPolicies } from '../core/policy-config.ts'
import { ApproverTokens } from '../core/approver-tokens.ts'
import { createPolicyService } from './policy-service.ts'

// The policy service as a process. Configuration (every model's policy block included) is
// validated before anything connects; shutdown is one ordered sequence on SIGTERM/SIGINT:
// API closed, batch in flight finished and committed, producer and ClickHouse closed.
const env = loadEnv()
const logger = createLogger('policy', env.LOG_LEVEL)
const config = loadDriftgateConfig(env.DRIFTGATE_CONFIG)
const policies = loadPolicies(config)
const needsApproval = [...policies].filter(([, p]) => p.require_approval).map(([id]) => id)
const approvers = ApproverTokens.fromEnv(env, (path) => readFileSync(path, 'utf8'))
if (needsApproval.length > 0 && !approvers) {
  throw new Error(
    `models ${needsApproval.join(', ')} require approval: set POLICY_API_TOKENS (or POLICY_API_TOKENS_FILE, POLICY_API_TOKEN) so the approval API can start`,
  )
}

const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'driftgate-policy' }, logger)
const ch = new ClickHouse({ url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD })
const producer = await createProducer(kafka)
const registry = new Registry()
collectDefaultMetrics({ register: registry })
const service = createPolicyService({
  kafka,
  ch,
  codec: EventCodec.forRegistry(env.SCHEMA_REGISTRY_URL),
  producer,
  topics: topicNames(env.TOPIC_PREFIX),
  policies,
  logger,
  groupId: env.POLICY_GROUP_ID,
  monitorGroupId: env.MONITOR_GROUP_ID,
  stallMs: env.CONSUMER_STALL_MS,
  registry,
  api: approvers ? { port: env.POLICY_API_PORT, tokens: approvers, host: env.POLICY_API_HOST } : undefined,
})
let ready = false
const ops = await startOpsServer({ port: env.POLICY_METRICS_PORT, host: env.OPS_HOST, registry, healthy: () => service.healthcheck(), ready: () => ready })
await service.start()
ready = true

let stopping = false
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return
  stopping = true
  logger.info({ event: 'policy_stopping', signal }, 'stopping')
  ready = false
  await service.stop()
  await producer.close()
  await ops.close()
  await ch.close()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
