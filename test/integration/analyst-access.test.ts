import { execFile, execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { assertReadOnlyUser, ReadOnlyUserError } from '../../services/shared/clickhouse/read-only-user.ts'
import { loadEnv, readOnlyPassword } from '../../services/shared/config/env.ts'
import { CLICKHOUSE_URL } from '../support/harness.ts'

// The analyst user of the local server (infra/local/clickhouse.sh) tried as an attacker would:
// every escalation the profile is meant to stop, sent over the HTTP interface as any client could
// send it; then the CLI, which must refuse to read with a user that can write. The same
// readonly=1 rules are checked on the current engine (chDB) at the end.

const run = promisify(execFile)
const env = loadEnv()
const USER = env.CLICKHOUSE_READONLY_USER
const PASSWORD = readOnlyPassword(env)
const DB = env.CLICKHOUSE_DATABASE

/** One request as the analyst (or `user`), with extra URL parameters; the answer's status and text. */
async function asUser(sql: string, params: Record<string, string> = {}, user = USER, password = PASSWORD): Promise<{ status: number; text: string }> {
  const url = new URL(CLICKHOUSE_URL)
  url.search = new URLSearchParams({ ...params }).toString()
  const res = await fetch(url, { method: 'POST', body: sql, headers: { 'X-ClickHouse-User': user, 'X-ClickHouse-Key': password } })
  return { status: res.status, text: await res.text() }
}

const refused = async (sql: string, pattern: RegExp, params: Record<string, string> = {}): Promise<void> => {
  const answer = await asUser(sql, params)
  expect(answer.status, `${sql} was answered: ${answer.text}`).not.toBe(200)
  expect(answer.text).toMatch(pattern)
}

describe('the analyst user on the server', () => {
  it('has a password of its own and needs it', async () => {
    expect(PASSWORD.length).toBeGreaterThanOrEqual(16)
    expect((await asUser('SELECT 1', {}, USER, '')).text).toMatch(/[Pp]assword/)
    expect((await asUser('SELECT 1', {}, USER, `${PASSWORD}x`)).text).toMatch(/[Pp]assword/)
    expect(await asUser('SELECT 1')).toEqual({ status: 200, text: '1\n' })
  })

  it('reads the driftgate tables, with 64-bit integers as numbers', async () => {
    const answer = await asUser(`SELECT count() AS n, toUInt64(9007199254740991) AS big FROM ${DB}.predictions FORMAT JSONEachRow`)
    expect(answer.status).toBe(200)
    const row = JSON.parse(answer.text) as { n: unknown; big: unknown }
    expect(typeof row.n).toBe('number')
    expect(row.big).toBe(9007199254740991)
  })

  it('cannot lift its limits, by SET or per query', async () => {
    await refused('SET max_execution_time = 0', /readonly/i)
    await refused('SELECT 1', /readonly/i, { max_execution_time: '0' })
    await refused('SELECT 1', /readonly/i, { max_memory_usage: '0' })
    await refused('SELECT 1', /readonly/i, { readonly: '0' })
    const limits = await asUser(
      "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_execution_time', 'max_memory_usage') ORDER BY name FORMAT TSV",
    )
    expect(limits.text).toBe('max_execution_time\t60\nmax_memory_usage\t2000000000\nreadonly\t1\n')
  })

  it('cannot reach other hosts or files through table functions', async () => {
    await refused("SELECT * FROM url('http://127.0.0.1:8123/ping', 'TSV', 'x String')", /Table functions are forbidden/)
    await refused("SELECT * FROM remote('127.0.0.1:9000', system.one)", /Table functions are forbidden/)
    await refused("SELECT * FROM file('analyst.password', 'TSV', 'x String')", /Table functions are forbidden/)
  })

  it('cannot write, create, drop or alter', async () => {
    await refused(`INSERT INTO ${DB}.alerts SELECT * FROM ${DB}.alerts LIMIT 0`, /readonly/i)
    await refused(`CREATE TABLE ${DB}.analyst_t (x UInt8) ENGINE = Memory`, /readonly/i)
    await refused('CREATE TEMPORARY TABLE analyst_tmp (x UInt8) ENGINE = Memory', /readonly/i)
    await refused(`DROP TABLE ${DB}.alerts`, /readonly/i)
    await refused(`ALTER TABLE ${DB}.alerts DELETE WHERE 1`, /readonly/i)
    await refused(`OPTIMIZE TABLE ${DB}.alerts`, /readonly/i)
  })

  it("cannot stop another user's query", async () => {
    const id = `victim-${Date.now()}`
    const victim = asUser('SELECT count() FROM numbers(100000000000)', { query_id: id }, 'default', '')
    await new Promise((resolve) => setTimeout(resolve, 500))
    try {
      await refused(`KILL QUERY WHERE query_id = '${id}' SYNC`, /Readonly user \w+ attempts to kill query created by default/)
    } finally {
      await asUser(`KILL QUERY WHERE query_id = '${id}' SYNC`, {}, 'default', '')
    }
    expect((await victim).text).toMatch(/cancelled/)
  })

  it('sees no database but its own (and system)', async () => {
    await refused('SELECT count() FROM default.one_table_that_does_not_matter', /Access denied to database default/)
  })
})

describe('the CLI', () => {
  const cli = (args: string[], extra: Record<string, string>): Promise<{ code: number; out: string; err: string }> =>
    run(process.execPath, ['--import', 'tsx', 'services/cli/driftgate-cli.ts', ...args], { env: { ...process.env, CLICKHOUSE_URL, ...extra } }).then(
      ({ stdout, stderr }) => ({ code: 0, out: stdout, err: stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
    )

  it('reads as the analyst with its password', async () => {
    const answer = await cli(['sql', 'SELECT 41 + 1 AS answer'], { CLICKHOUSE_READONLY_PASSWORD: PASSWORD })
    expect(answer).toMatchObject({ code: 0, err: '' })
    expect(answer.out).toMatch(/answer\n-+\n +42\n/)
  })

  it('refuses a user that can write, before running anything', async () => {
    const answer = await cli(['sql', `DROP TABLE IF EXISTS ${DB}.never_created_by_cli`], {
      CLICKHOUSE_READONLY_USER: 'default',
      CLICKHOUSE_READONLY_PASSWORD: '',
    })
    expect(answer.code).toBe(1)
    expect(answer.err).toMatch(/user 'default' has readonly=0: the CLI reads only with a readonly=1 user/)
  })

  it('says so when the password is wrong', async () => {
    const answer = await cli(['sql', 'SELECT 1'], { CLICKHOUSE_READONLY_PASSWORD: 'not-it' })
    expect(answer.code).toBe(1)
    expect(answer.err).toMatch(/password/i)
  })
})

describe('the reader check', () => {
  it('passes the analyst and refuses the writer', async () => {
    const analyst = new ClickHouse({ url: CLICKHOUSE_URL, database: DB, username: USER, password: PASSWORD, readOnly: true })
    const writer = new ClickHouse({ url: CLICKHOUSE_URL, database: DB })
    try {
      await expect(assertReadOnlyUser(analyst, USER)).resolves.toBeUndefined()
      await expect(assertReadOnlyUser(writer, 'default')).rejects.toBeInstanceOf(ReadOnlyUserError)
    } finally {
      await Promise.all([analyst.close(), writer.close()])
    }
  })
})

interface ChdbSession {
  query(sql: string, format?: string): string
  close(): void
}

describe('readonly=1 on the current engine (chDB)', () => {
  let session: ChdbSession

  beforeAll(() => {
    const dir = execFileSync('bash', ['infra/local/chdb.sh', 'install'], { stdio: ['ignore', 'pipe', 'inherit'] })
      .toString()
      .trim()
    const { Session } = createRequire(join(dir, 'package.json'))('chdb') as { Session: new () => ChdbSession }
    session = new Session()
    session.query('CREATE TABLE t (x UInt8) ENGINE = Memory')
    session.query('SET readonly = 1')
  })
  afterAll(() => session.close())

  const refusedHere = (sql: string): void => expect(() => session.query(sql, 'TSV'), sql).toThrow(/READONLY|readonly/)

  it('forbids table functions that reach out, and every write', () => {
    expect(session.query('SELECT version()', 'TSVRaw')).toMatch(/^26\./)
    refusedHere("SELECT * FROM url('http://127.0.0.1:8123/ping', 'TSV', 'x String')")
    refusedHere("SELECT * FROM remote('127.0.0.1:9000', system.one)")
    refusedHere("SELECT * FROM file('x.tsv', 'TSV', 'x String')")
    refusedHere('INSERT INTO t VALUES (1)')
    refusedHere('CREATE TABLE u (x UInt8) ENGINE = Memory')
    refusedHere('DROP TABLE t')
    expect(session.query('SELECT count() FROM t', 'TSV')).toBe('0\n')
  })
})
