import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import type { InfraEnv } from './infra-choice.ts'

// The integration tests' infrastructure as containers, started with testcontainers (imported
// here only, on demand, so that the local path never loads it). The same services as
// docker-compose.yml, on current images, each on a random host port; the ClickHouse users and
// the Alertmanager routing come from infra/docker/ as in compose.

export const IMAGES = {
  kafka: 'apache/kafka:3.9.1',
  clickhouse: 'clickhouse/clickhouse-server:26.8',
  schemaRegistry: 'confluentinc/cp-schema-registry:8.1.1',
  alertmanager: 'prom/alertmanager:v0.28.1',
}

/** What `SELECT version()` starts with on the pinned ClickHouse image: its tag and a dot. */
export const CLICKHOUSE_IMAGE_VERSION_PREFIX = `${IMAGES.clickhouse.split(':')[1]}.`

export interface DockerInfra {
  env: InfraEnv
  stop(): Promise<void>
}

export async function startDockerInfra(): Promise<DockerInfra> {
  const { GenericContainer, Network, RandomPortGenerator, Wait, getContainerRuntimeClient } = await import('testcontainers')
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host
  const network = await new Network().start()
  const started: { stop(): Promise<unknown> }[] = [network]
  const stop = async (): Promise<void> => {
    for (const item of started.reverse()) await item.stop()
  }
  try {
    // Kafka advertises the address clients dial, so its host port is chosen before it starts.
    const kafkaPort = await new RandomPortGenerator().generatePort()
    const kafka = await new GenericContainer(IMAGES.kafka)
      .withNetwork(network)
      .withNetworkAliases('kafka')
      .withExposedPorts({ container: 9092, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,INTERNAL://0.0.0.0:19092,CONTROLLER://0.0.0.0:29093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${kafkaPort},INTERNAL://kafka:19092`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:29093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(180_000)
      .start()
    started.push(kafka)

    const analystPassword = randomBytes(18).toString('base64url')
    const clickhouse = await new GenericContainer(IMAGES.clickhouse)
      .withExposedPorts(8123)
      // The default user without a password, reachable from the host, as on the local server.
      .withEnvironment({ CLICKHOUSE_SKIP_USER_SETUP: '1', CLICKHOUSE_READONLY_PASSWORD: analystPassword })
      .withCopyFilesToContainer([{ source: resolve('infra/docker/clickhouse-users.xml'), target: '/etc/clickhouse-server/users.d/driftgate.xml' }])
      .withUlimits({ nofile: { soft: 262_144, hard: 262_144 } })
      .withWaitStrategy(Wait.forHttp('/ping', 8123))
      .start()
    started.push(clickhouse)

    const registry = await new GenericContainer(IMAGES.schemaRegistry)
      .withNetwork(network)
      .withExposedPorts(8081)
      .withEnvironment({
        SCHEMA_REGISTRY_HOST_NAME: 'schema-registry',
        SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS: 'PLAINTEXT://kafka:19092',
        SCHEMA_REGISTRY_LISTENERS: 'http://0.0.0.0:8081',
      })
      .withWaitStrategy(Wait.forHttp('/subjects', 8081))
      .withStartupTimeout(120_000)
      .start()
    started.push(registry)

    const alertmanager = await new GenericContainer(IMAGES.alertmanager)
      .withExposedPorts(9093)
      .withCopyFilesToContainer([{ source: resolve('infra/docker/alertmanager.yml'), target: '/etc/alertmanager/alertmanager.yml' }])
      .withCommand(['--config.file=/etc/alertmanager/alertmanager.yml', '--cluster.listen-address='])
      .withWaitStrategy(Wait.forHttp('/-/ready', 9093))
      .start()
    started.push(alertmanager)

    const url = (container: typeof clickhouse, port: number): string => `http://${container.getHost()}:${container.getMappedPort(port)}`
    return {
      env: {
        KAFKA_BROKERS: `${host}:${kafkaPort}`,
        CLICKHOUSE_URL: url(clickhouse, 8123),
        CLICKHOUSE_VERSION_PREFIX: CLICKHOUSE_IMAGE_VERSION_PREFIX,
        CLICKHOUSE_READONLY_PASSWORD: analystPassword,
        SCHEMA_REGISTRY_URL: url(registry, 8081),
        ALERTMANAGER_URL: url(alertmanager, 9093),
      },
      stop,
    }
  } catch (error) {
    await stop().catch(() => undefined)
    throw error
  }
}
