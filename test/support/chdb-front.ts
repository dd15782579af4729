import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listenLocal } from './listen.ts'

// The current ClickHouse engine (chDB, in-process) behind the part of ClickHouse's HTTP interface
// that @clickhouse/client uses: SQL in the body or the `query` parameter (an INSERT's rows in the
// body; binary RowBinary rows pass through a file, as chDB takes SQL as text), settings as URL parameters, errors as ClickHouse's text with a non-200 status. Queries run
// one at a time on one session, whose data lives in a temporary folder. No users or passwords:
// what needs them is tested on the server.

/** URL parameters of the HTTP interface that are not settings. */
const NOT_SETTINGS = new Set([
  'query',
  'query_id',
  'database',
  'default_format',
  'session_id',
  'session_timeout',
  'session_check',
  'enable_http_compression',
  'wait_end_of_query',
  'user',
  'password',
  'compress',
  'decompress',
  'extremes',
])

/** The part of chdb's Session this front uses. */
interface ChdbSession {
  query(sql: string, format?: string): string
  queryAsync(sql: string, options?: { format?: string }): Promise<{ text(): string }>
  close(): void
}

/** chdb from the folder infra/local/chdb.sh installed it in (CHDB_DIR). */
function loadSession(dir: string): new () => ChdbSession {
  const require = createRequire(join(dir, 'package.json'))
  return (require('chdb') as { Session: new () => ChdbSession }).Session
}

export interface ChdbFront {
  url: string
  version: string
  close(): Promise<void>
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })

const ROW_BINARY_INSERT = /^(\s*INSERT\s[\s\S]*?)\s+FORMAT\s+RowBinary\s*$/i

function settingStatement(name: string, value: string): string {
  if (!/^\w+$/.test(name)) throw new Error(`Code: 115. DB::Exception: Unknown setting '${name}'. (UNKNOWN_SETTING)`)
  return `SET ${name} = ${/^-?\d+(\.\d+)?$/.test(value) ? value : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`}`
}

export async function startChdbFront(chdbDir: string, port = 0): Promise<ChdbFront> {
  const Session = loadSession(chdbDir)
  const session = new Session()
  let queue: Promise<unknown> = Promise.resolve()
  const run = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work)
    queue = next.catch(() => undefined)
    return next
  }
  const version = session.query('SELECT version()', 'TSVRaw').trim()
  const files = mkdtempSync(join(tmpdir(), 'chdb-front-'))
  let fileCount = 0
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://front')
      if (url.pathname === '/ping') return res.end('Ok.\n')
      const body = await readBody(req)
      const param = url.searchParams.get('query')
      const binaryInsert = param?.match(ROW_BINARY_INSERT)
      const file = binaryInsert ? join(files, `rows-${++fileCount}.bin`) : ''
      const bodyText = body.toString('utf8')
      const sql = binaryInsert ? `${binaryInsert[1]} FROM INFILE '${file}' FORMAT RowBinary` : param ? (bodyText ? `${param}\n${bodyText}` : param) : bodyText
      try {
        const text = await run(async () => {
          for (const [name, value] of url.searchParams) if (!NOT_SETTINGS.has(name)) session.query(settingStatement(name, value))
          const database = url.searchParams.get('database')
          if (database) session.query(`USE ${database.replace(/[^\w]/g, '')}`)
          if (!file) return (await session.queryAsync(sql, { format: 'TSV' })).text()
          writeFileSync(file, body)
          try {
            return (await session.queryAsync(sql, { format: 'TSV' })).text()
          } finally {
            rmSync(file, { force: true })
          }
        })
        res.writeHead(200, {
          'content-type': 'text/plain; charset=UTF-8',
          'x-clickhouse-summary': '{}',
          'x-clickhouse-query-id': url.searchParams.get('query_id') ?? '',
        })
        res.end(text)
      } catch (error) {
        const e = error as Error & { clickhouseCode?: number }
        res.writeHead(500, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': String(e.clickhouseCode ?? 1000) })
        res.end(`${e.message}\n`)
      }
    })()
  })
  const bound = await listenLocal(server, port)
  return {
    url: `http://127.0.0.1:${bound}`,
    version,
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          session.close()
          rmSync(files, { recursive: true, force: true })
          resolve()
        }),
      ),
  }
}

// Run as a process: `tsx test/support/chdb-front.ts <chdb dir> [port]`; prints the URL when it listens.
if (import.meta.url === `file://${process.argv[1]}`) {
  const front = await startChdbFront(process.argv[2]!, Number(process.argv[3] ?? 0))
  console.log(`chdb-front ${front.url} ${front.version}`)
  const stop = (): void => void front.close().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
