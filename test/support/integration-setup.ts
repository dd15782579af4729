import { execFileSync } from 'node:child_process'
import { probeDocker } from './docker-ping.ts'
import { chooseInfra, localInfraEnv, type InfraEnv } from './infra-choice.ts'

// Integration tests run against a real Kafka, ClickHouse, schema registry and Alertmanager:
// containers started with testcontainers when a Docker engine answers, else the local processes
// of infra/local/ (up.sh starts whatever is not running yet and reuses what is), so `npm test`
// works on a machine where only `npm ci` was run. DRIFTGATE_INFRA=local|docker overrides the
// choice. The endpoints reach the tests through process.env; tests then create their own topics
// and databases with random names.

interface Started {
  teardown(): Promise<void>
}

/** Both integration projects list this file; the infrastructure is started once per vitest run. */
const STARTED = Symbol.for('driftgate.integration-infra')
type WithInfra = typeof globalThis & { [STARTED]?: Promise<Started> }

export default async function setup(): Promise<() => Promise<void>> {
  const shared = globalThis as WithInfra
  if (shared[STARTED]) {
    await shared[STARTED]
    return async () => undefined
  }
  shared[STARTED] = start()
  const started = await shared[STARTED]
  return () => started.teardown()
}

async function start(): Promise<Started> {
  const choice = await chooseInfra(process.env, () => probeDocker())
  console.log(`[driftgate infra] ${choice.provider}: ${choice.reason}`)
  // The tests (and a rerun's setup) see the choice made.
  process.env.DRIFTGATE_INFRA = choice.provider
  // Some tests produce with kcat, a librdkafka client (see test/support/kcat.ts).
  try {
    execFileSync('kcat', ['-V'], { stdio: 'ignore' })
  } catch {
    throw new Error("kcat is missing: install Debian's kcat package (apt-get install kcat)")
  }
  if (choice.provider === 'local') {
    execFileSync('bash', ['infra/local/up.sh'], { stdio: 'inherit' })
    exportEnv(localInfraEnv(process.env))
    return { teardown: async () => undefined }
  }
  // testcontainers then talks to the engine that answered the probe.
  process.env.DOCKER_HOST ??= choice.dockerHost
  const { startDockerInfra } = await import('./docker-infra.ts')
  const infra = await startDockerInfra()
  exportEnv(infra.env)
  try {
    // What up.sh does after starting the servers: the topics and the tables.
    for (const cli of ['services/shared/kafka/topics-cli.ts', 'services/shared/clickhouse/migrate-cli.ts']) {
      execFileSync('node_modules/.bin/tsx', [cli], { stdio: 'inherit' })
    }
  } catch (error) {
    await infra.stop()
    throw error
  }
  console.log(
    `[driftgate infra] ready: Kafka ${infra.env.KAFKA_BROKERS}, ClickHouse ${infra.env.CLICKHOUSE_URL}, Alertmanager ${infra.env.ALERTMANAGER_URL}, schema registry ${infra.env.SCHEMA_REGISTRY_URL}`,
  )
  return { teardown: () => infra.stop() }
}

/** Test workers and the processes they spawn inherit process.env. */
function exportEnv(env: InfraEnv): void {
  Object.assign(process.env, env)
}
