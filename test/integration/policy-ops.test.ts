import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exited } from '../support/monitor-process.ts'
import { freshClickHouse, freshTopics, uniqueId, waitFor } from '../support/harness.ts'

// The standalone policy service (services/policy/run/main.ts) as a process: /metrics, /_health and
// /_ready on POLICY_METRICS_PORT with the approval API off (no token) and on, as the README says
// each service serves all three.

const id = uniqueId()
let database: { ch: { database: string }; drop(): Promise<void> }
let prefix: string

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function startPolicy(extra: Record<string, string>): Promise<{ child: ChildProcess; ops: number; api: number }> {
  const [ops, api] = [await freePort(), await freePort()]
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/policy/run/main.ts'], {
    env: {
      ...process.env,
      DRIFTGATE_CONFIG: 'config/driftgate.yaml',
      CLICKHOUSE_DATABASE: database.ch.database,
      TOPIC_PREFIX: prefix,
      POLICY_GROUP_ID: `policy-ops-${id}`,
      MONITOR_GROUP_ID: `monitor-ops-${id}`,
      POLICY_METRICS_PORT: String(ops),
      POLICY_API_PORT: String(api),
      POLICY_API_TOKENS: '',
      POLICY_API_TOKENS_FILE: '',
      POLICY_API_TOKEN: '',
      LOG_LEVEL: 'warn',
      ...extra,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  return { child, ops, api }
}

const get = (port: number, path: string): Promise<{ status: number; text: string }> =>
  fetch(`http://127.0.0.1:${port}${path}`).then(async (r) => ({ status: r.status, text: await r.text() }))

async function expectOps(port: number): Promise<void> {
  await waitFor(async () => (await get(port, '/_ready')).status === 200, { timeoutMs: 60_000, what: 'policy /_ready' })
  expect(await get(port, '/_health')).toEqual({ status: 200, text: '{"ok":true}' })
  const metrics = await get(port, '/metrics')
  expect(metrics.status).toBe(200)
  expect(metrics.text).toMatch(/^driftgate_policy_triggers_waiting /m)
  expect(metrics.text).toMatch(/^process_cpu_seconds_total /m)
}

beforeAll(async () => {
  database = await freshClickHouse(id)
  ;({ prefix } = await freshTopics(id))
})
afterAll(() => database.drop())

describe('the policy service process', () => {
  it('serves /metrics, /_health and /_ready without an approval API', async () => {
    const { child, ops, api } = await startPolicy({})
    try {
      await expectOps(ops)
      await expect(fetch(`http://127.0.0.1:${api}/_health`)).rejects.toThrow()
    } finally {
      child.kill('SIGTERM')
      await exited(child)
    }
  })

  it('serves them too with the approval API on, which answers its own health checks', async () => {
    const { child, ops, api } = await startPolicy({ POLICY_API_TOKEN: 'a'.repeat(40), POLICY_API_TOKEN_OWNER: 'ops-test' })
    try {
      await expectOps(ops)
      expect((await get(api, '/_health')).status).toBe(200)
      expect((await get(api, '/approvals')).status).toBe(401)
    } finally {
      child.kill('SIGTERM')
      await exited(child)
    }
  })
})
