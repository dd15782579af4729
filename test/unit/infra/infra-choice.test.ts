import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CLICKHOUSE_IMAGE_VERSION_PREFIX, IMAGES } from '../../support/docker-infra.ts'
import { probeDocker } from '../../support/docker-ping.ts'
import { chooseInfra, dockerHostTarget, dockerHosts, localInfraEnv, type DockerProbe } from '../../support/infra-choice.ts'

const answers: DockerProbe = { answers: true, where: 'unix:///var/run/docker.sock' }
const silent: DockerProbe = { answers: false, where: 'unix:///var/run/docker.sock' }
const probeOf = (result: DockerProbe) => vi.fn(() => Promise.resolve(result))

describe('choosing the integration infrastructure', () => {
  it('takes Docker when an engine answers and nothing is asked for, and says where it answered', async () => {
    const choice = await chooseInfra({}, probeOf(answers))
    expect(choice).toMatchObject({ provider: 'docker', dockerHost: 'unix:///var/run/docker.sock' })
    expect(choice.reason).toMatch(/a Docker engine answers at unix:\/\/\/var\/run\/docker.sock/)
  })

  it('takes the local processes when no engine answers, and says so', async () => {
    const choice = await chooseInfra({ DRIFTGATE_INFRA: '' }, probeOf(silent))
    expect(choice.provider).toBe('local')
    expect(choice.reason).toMatch(/no Docker engine answers at unix:\/\/\/var\/run\/docker.sock/)
  })

  it('obeys DRIFTGATE_INFRA=local without pinging Docker, even when an engine would answer', async () => {
    const probe = probeOf(answers)
    expect(await chooseInfra({ DRIFTGATE_INFRA: 'local' }, probe)).toEqual({ provider: 'local', reason: 'DRIFTGATE_INFRA=local' })
    expect(probe).not.toHaveBeenCalled()
  })

  it('obeys DRIFTGATE_INFRA=docker when an engine answers', async () => {
    const choice = await chooseInfra({ DRIFTGATE_INFRA: 'docker' }, probeOf(answers))
    expect(choice.provider).toBe('docker')
    expect(choice.reason).toMatch(/^DRIFTGATE_INFRA=docker and a Docker engine answers/)
  })

  it('fails on DRIFTGATE_INFRA=docker with no engine answering instead of falling back', async () => {
    await expect(chooseInfra({ DRIFTGATE_INFRA: 'docker' }, probeOf(silent))).rejects.toThrow(
      /DRIFTGATE_INFRA=docker, but no Docker engine answers at unix:\/\/\/var\/run\/docker.sock/,
    )
  })

  it('refuses a DRIFTGATE_INFRA it does not know', async () => {
    await expect(chooseInfra({ DRIFTGATE_INFRA: 'podman' }, probeOf(answers))).rejects.toThrow(/DRIFTGATE_INFRA=podman: expected local or docker/)
  })
})

describe('where a Docker engine is looked for', () => {
  it('is DOCKER_HOST alone when it is set', () => {
    expect(dockerHosts({ DOCKER_HOST: 'tcp://10.0.0.5:2375', XDG_RUNTIME_DIR: '/run/user/1000' }, '/home/u', 1000)).toEqual(['tcp://10.0.0.5:2375'])
  })

  it('is else the rootful, rootless and Docker Desktop sockets, once each', () => {
    expect(dockerHosts({ XDG_RUNTIME_DIR: '/run/user/1000' }, '/home/u', 1000)).toEqual([
      'unix:///var/run/docker.sock',
      'unix:///run/user/1000/docker.sock',
      'unix:///home/u/.docker/run/docker.sock',
      'unix:///home/u/.docker/desktop/docker.sock',
    ])
  })

  it('reaches unix sockets and plain tcp, and nothing else', () => {
    expect(dockerHostTarget('unix:///var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock' })
    expect(dockerHostTarget('tcp://127.0.0.1:2375')).toEqual({ host: '127.0.0.1', port: 2375 })
    expect(dockerHostTarget('tcp://[::1]:2375/')).toEqual({ host: '::1', port: 2375 })
    expect(dockerHostTarget('ssh://me@box')).toBeUndefined()
    expect(dockerHostTarget('npipe:////./pipe/docker_engine')).toBeUndefined()
  })
})

describe('pinging Docker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftgate-docker-'))
  const socket = join(dir, 'docker.sock')
  let engine: Server

  beforeAll(async () => {
    // An engine's /_ping answer, on a unix socket of its own.
    engine = createServer((req, res) => res.writeHead(req.url === '/_ping' ? 200 : 404).end(req.url === '/_ping' ? 'OK' : ''))
    await new Promise<void>((resolve) => engine.listen(socket, resolve))
  })
  afterAll(async () => {
    await new Promise((resolve) => engine.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  it('finds the engine that answers at DOCKER_HOST', async () => {
    expect(await probeDocker({ DOCKER_HOST: `unix://${socket}` })).toEqual({ answers: true, where: `unix://${socket}` })
  })

  it('reports every place tried when nothing answers', async () => {
    const missing = `unix://${join(dir, 'none.sock')}`
    expect(await probeDocker({ DOCKER_HOST: missing })).toEqual({ answers: false, where: missing })
  })
})

describe('the endpoints handed to the tests', () => {
  it('are those of infra/local/env.sh for the local processes, with its overrides', () => {
    expect(localInfraEnv({})).toEqual({
      KAFKA_BROKERS: '127.0.0.1:9092',
      CLICKHOUSE_URL: 'http://127.0.0.1:8123',
      CLICKHOUSE_VERSION_PREFIX: '18.16.',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
      ALERTMANAGER_URL: 'http://127.0.0.1:9093',
    })
    expect(localInfraEnv({ KAFKA_PORT: '19092', CLICKHOUSE_HTTP_PORT: '18123', ALERTMANAGER_PORT: '19093', CLICKHOUSE_READONLY_PASSWORD: 'pw' })).toMatchObject(
      {
        KAFKA_BROKERS: '127.0.0.1:19092',
        CLICKHOUSE_URL: 'http://127.0.0.1:18123',
        ALERTMANAGER_URL: 'http://127.0.0.1:19093',
        CLICKHOUSE_READONLY_PASSWORD: 'pw',
      },
    )
  })

  it('name the pinned ClickHouse release for the containers, so the version check still means something', () => {
    expect(IMAGES.clickhouse).toMatch(/^clickhouse\/clickhouse-server:\d+\.\d+$/)
    expect(CLICKHOUSE_IMAGE_VERSION_PREFIX).toMatch(/^\d+\.\d+\.$/)
    expect(IMAGES.kafka).toMatch(/^apache\/kafka:3\.9\./)
  })
})
