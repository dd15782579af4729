import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { startConsoleFromEnv } from '../../services/console/run/start.ts'
import { loadEnv } from '../../services/shared/config/env.ts'
import { CLICKHOUSE_URL, testLogger } from '../support/harness.ts'
import { exited } from '../support/monitor-process.ts'

// `driftgate console` itself, on the local server's shared database as the analyst user (which
// the chDB front does not have, so this file runs on the local server only).

describe('the console as started by driftgate console', () => {
  it('reads as the read-only user and refuses a writer', async () => {
    const base = loadEnv()
    const console1 = await startConsoleFromEnv({ ...base, DRIFTGATE_CONFIG: 'config/driftgate.yaml' }, testLogger('console'), { port: 0 })
    try {
      expect((await fetch(console1.url)).status).toBe(200)
    } finally {
      await console1.closeAll()
    }
    // The command itself prints where it listens and stops on SIGTERM.
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/driftgate-cli.ts', 'console', '--port', '0'], {
      env: { ...process.env, CLICKHOUSE_URL, DRIFTGATE_CONFIG: 'config/driftgate.yaml' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as string[]
      const url = /^driftgate console at (http:\/\/127\.0\.0\.1:\d+) /.exec(line!)?.[1]
      expect(url, line).toBeDefined()
      expect(await (await fetch(`${url}/models/credit-default`)).text()).toMatch(/<h1>credit-default<\/h1>/)
    } finally {
      child.kill('SIGTERM')
      await exited(child)
    }
    await expect(
      startConsoleFromEnv({ ...base, CLICKHOUSE_READONLY_USER: 'default', CLICKHOUSE_READONLY_PASSWORD: '' }, testLogger('console'), { port: 0 }),
    ).rejects.toThrow(/readonly=0/)
  })
})
