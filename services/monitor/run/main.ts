import { Registry, collectDefaultMetrics } from 'prom-client'
import { ClickHouse } from '../../shared/clickhouse/client.ts'
import { EventCodec } from '../../shared/codec/event-codec.ts'
import { loadEnv } from '../../shared/config/env.ts'
import { loadDriftgateConfig } from '../../shared/config/model-config.ts'
import { startOpsServer } from '../../shared/http/ops-server.ts'
import { createKafka } from '../../shared/kafka/kafka-client.ts'
import { createProducer } from '../../shared/kafka/producer.ts'
import { topicNames } from '../../shared/kafka/topics.ts'
import { createLogger } from '../../shared/logging/logger.ts'
import { createAlertDelivery } from './alerting/index.ts'
import { createMonitorService } from './monitor-service.ts'
import { monitorSettings } from './monitor-settings.ts'
import { loadRuntimeModels } from './runtime-models.ts'

// The monitor as a process: configuration is read and validated once, then one ordered
// shutdown on SIGTERM/SIGINT: not ready, stop consuming (finish and commit the batch in
// flight), close the producer and ClickHouse, close the ops server.
const env = loadEnv()
const logger = createLogger('monitor', env.LOG_LEVEL)
const config = loadDriftgateConfig(env.DRIFTGATE_CONFIG)
if (process.platform === 'linux' && process.env.MALLOC_MMAP_THRESHOLD_ === undefined)
  logger.info({ event: 'malloc_threshold_unset' }, 'MALLOC_MMAP_THRESHOLD_ is not set: RSS may stay high after a backlog (docs/operations.md, Memory)')
const registry = new Registry()
collectDefaultMetrics({ register: registry })

const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'driftgate-monitor' }, logger)
const ch = new ClickHouse({
  url: env.CLICKHOUSE_URL,
  database: env.CLICKHOUSE_DATABASE,
  username: env.CLICKHOUSE_USER,
  password: env.CLICKHOUSE_PASSWORD,
  requestTimeoutMs: env.MONITOR_CLICKHOUSE_TIMEOUT_MS,
})
const producer = await createProducer(kafka)
const alerts = createAlertDelivery({
  alertmanagerUrl: env.ALERTMANAGER_URL,
  webhookUrl: env.ALERT_WEBHOOK_URL,
  webhookToken: env.ALERT_WEBHOOK_TOKEN,
  webhookDetail: env.ALERT_WEBHOOK_DETAIL,
  logger,
  registry,
})
const service = createMonitorService({
  kafka,
  ch,
  codec: EventCodec.forRegistry(env.SCHEMA_REGISTRY_URL, { maxRecordBytes: env.MONITOR_MAX_RECORD_BYTES }),
  producer,
  topics: topicNames(env.TOPIC_PREFIX),
  models: loadRuntimeModels(config),
  logger,
  registry,
  alerts,
  settings: monitorSettings(env),
})
let ready = false
const ops = await startOpsServer({ port: env.METRICS_PORT, host: env.OPS_HOST, registry, healthy: () => service.healthcheck(), ready: () => ready })
await service.start()
ready = true
logger.info({ event: 'monitor_started', models: config.models.map((m) => m.model_id), ops_port: ops.port }, 'monitor started')

let stopping = false
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return
  stopping = true
  ready = false
  logger.info({ event: 'monitor_stopping', signal }, 'stopping')
  await service.stop()
  await alerts.close()
  await producer.close()
  await ch.close()
  await ops.close()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
