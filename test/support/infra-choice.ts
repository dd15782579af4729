import { join } from 'node:path'

// Which infrastructure the integration tests run on: the local processes of infra/local/ or
// containers started with testcontainers. Pure: the Docker ping is passed in.

export type InfraProvider = 'local' | 'docker'

/** Whether a Docker engine answered a ping, and where it was looked for. */
export interface DockerProbe {
  answers: boolean
  /** The endpoint that answered, or every endpoint tried. */
  where: string
}

export interface InfraChoice {
  provider: InfraProvider
  /** Why, for the log line. */
  reason: string
  /** The Docker endpoint to use (docker only). */
  dockerHost?: string
}

/** The variables the integration tests, and the services they start, read to find the infrastructure. */
export interface InfraEnv {
  KAFKA_BROKERS: string
  CLICKHOUSE_URL: string
  /** What `SELECT version()` starts with on that server (test/integration/foundation.test.ts). */
  CLICKHOUSE_VERSION_PREFIX: string
  SCHEMA_REGISTRY_URL: string
  ALERTMANAGER_URL: string
  /** The analyst's password; unset, the CLI reads the file infra/local writes. */
  CLICKHOUSE_READONLY_PASSWORD?: string
}

/**
 * DRIFTGATE_INFRA=local or docker decides. Unset: docker when a Docker engine answers the
 * probe, else local. DRIFTGATE_INFRA=docker with no engine answering is an error, not a
 * fallback. The probe is not called for DRIFTGATE_INFRA=local.
 */
export async function chooseInfra(env: NodeJS.ProcessEnv, probe: () => Promise<DockerProbe>): Promise<InfraChoice> {
  const wanted = (env.DRIFTGATE_INFRA ?? '').trim()
  if (wanted === 'local') return { provider: 'local', reason: 'DRIFTGATE_INFRA=local' }
  if (wanted !== '' && wanted !== 'docker') throw new Error(`DRIFTGATE_INFRA=${wanted}: expected local or docker`)
  const docker = await probe()
  if (wanted === 'docker') {
    if (!docker.answers) {
      throw new Error(`DRIFTGATE_INFRA=docker, but no Docker engine answers at ${docker.where}: start Docker, set DOCKER_HOST, or set DRIFTGATE_INFRA=local`)
    }
    return { provider: 'docker', reason: `DRIFTGATE_INFRA=docker and a Docker engine answers at ${docker.where}`, dockerHost: docker.where }
  }
  if (docker.answers) {
    return {
      provider: 'docker',
      reason: `a Docker engine answers at ${docker.where} (DRIFTGATE_INFRA=local runs the local processes)`,
      dockerHost: docker.where,
    }
  }
  return { provider: 'local', reason: `no Docker engine answers at ${docker.where} (DRIFTGATE_INFRA=docker requires one)` }
}

/**
 * Where to look for a Docker engine: DOCKER_HOST alone when it is set, else the sockets
 * testcontainers also tries (rootful, rootless, Docker Desktop).
 */
export function dockerHosts(env: NodeJS.ProcessEnv, home: string, uid: number): string[] {
  if (env.DOCKER_HOST) return [env.DOCKER_HOST]
  const sockets = [
    '/var/run/docker.sock',
    env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'docker.sock') : undefined,
    join(home, '.docker', 'run', 'docker.sock'),
    join(home, '.docker', 'desktop', 'docker.sock'),
    `/run/user/${uid}/docker.sock`,
  ]
  return [...new Set(sockets.filter((s) => s !== undefined))].map((s) => `unix://${s}`)
}

/** How to reach a DOCKER_HOST over HTTP: a unix socket or plain tcp; undefined for others (ssh, npipe). */
export function dockerHostTarget(host: string): { socketPath: string } | { host: string; port: number } | undefined {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) }
  const tcp = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(host)
  if (tcp) return { host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2]) }
  return undefined
}

/** The local processes' endpoints, from the variables infra/local/env.sh reads, with its defaults. */
export function localInfraEnv(env: NodeJS.ProcessEnv): InfraEnv {
  const local: InfraEnv = {
    KAFKA_BROKERS: env.KAFKA_BROKERS ?? `${env.KAFKA_HOST ?? '127.0.0.1'}:${env.KAFKA_PORT ?? 9092}`,
    CLICKHOUSE_URL: env.CLICKHOUSE_URL ?? `http://${env.CLICKHOUSE_HOST ?? '127.0.0.1'}:${env.CLICKHOUSE_HTTP_PORT ?? 8123}`,
    CLICKHOUSE_VERSION_PREFIX: env.CLICKHOUSE_VERSION_PREFIX ?? '18.16.',
    SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${env.SCHEMA_REGISTRY_PORT ?? 8081}`,
    ALERTMANAGER_URL: env.ALERTMANAGER_URL ?? `http://${env.ALERTMANAGER_HOST ?? '127.0.0.1'}:${env.ALERTMANAGER_PORT ?? 9093}`,
  }
  if (env.CLICKHOUSE_READONLY_PASSWORD !== undefined) local.CLICKHOUSE_READONLY_PASSWORD = env.CLICKHOUSE_READONLY_PASSWORD
  return local
}
