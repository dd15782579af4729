import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { parsePromText, type PromSeries } from './prom-text.ts'

export interface BenchMonitorOptions {
  configPath: string
  database: string
  topicPrefix: string
  groupId: string
  registryUrl: string
  clickhouseUrl: string
  batchSize: number
  lingerMs: number
  indexPerPartition?: number
  /** stdout and stderr of the child go here. */
  logFile: string
  /** Extra node flags, e.g. --cpu-prof (BENCH_CPU_PROF). */
  nodeFlags?: string[]
  /** Make collectGarbage() available (the child runs a full GC on SIGUSR2). */
  gcOnSignal?: boolean
}

export interface BenchMonitor {
  readonly pid: number
  readonly port: number
  readonly logFile: string
  /** The last batch or window-round failure the monitor logged (why it is stuck), if any. */
  lastBatchError(): string | null
  /** Resolves when /_ready answers 200 (the consumer has joined its group); returns that time. */
  ready(timeoutMs?: number): Promise<number>
  metrics(): Promise<PromSeries[]>
  /** Full GC in the child, then a short pause for it to finish (needs gcOnSignal). */
  collectGarbage(): Promise<void>
  /** SIGTERM (finish the batch, commit, leave the group), SIGKILL after 30 s. */
  stop(): Promise<void>
}

/** Log events of work the monitor retries until it succeeds (nothing is committed meanwhile). */
const FAILURE_EVENTS = ['consumer_paused', 'window_round_failed']

/** A free TCP port on 127.0.0.1 for the child's ops server (the bench reads /metrics there). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()))

/**
 * The monitor as in production: services/monitor/run/main.ts in its own node process (tsx loaded
 * with --import, so the pid is the monitor itself and node flags such as --cpu-prof apply to it).
 */
export async function startBenchMonitor(o: BenchMonitorOptions): Promise<BenchMonitor> {
  const port = await freePort()
  const log = openSync(o.logFile, 'a')
  const env: Record<string, string | undefined> = {
    ...process.env,
    DRIFTGATE_CONFIG: o.configPath,
    CLICKHOUSE_URL: o.clickhouseUrl,
    CLICKHOUSE_DATABASE: o.database,
    TOPIC_PREFIX: o.topicPrefix,
    MONITOR_GROUP_ID: o.groupId,
    SCHEMA_REGISTRY_URL: o.registryUrl,
    MONITOR_BATCH_SIZE: String(o.batchSize),
    MONITOR_LINGER_MS: String(o.lingerMs),
    ...(o.indexPerPartition ? { MONITOR_INDEX_PER_PARTITION: String(o.indexPerPartition) } : {}),
    METRICS_PORT: String(port),
    LOG_LEVEL: process.env.BENCH_MONITOR_LOG_LEVEL ?? 'warn',
    // As deployed (docs/operations.md, Memory).
    MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072',
  }
  // Alerts still reach the triggers topic and ClickHouse; on-call delivery is not measured.
  delete env.ALERTMANAGER_URL
  delete env.ALERT_WEBHOOK_URL
  const gcFlags = o.gcOnSignal ? ['--expose-gc'] : []
  const gcPreload = o.gcOnSignal ? ['--import', new URL('./gc-on-signal.ts', import.meta.url).pathname] : []
  const args = [...(o.nodeFlags ?? []), ...gcFlags, '--import', 'tsx', ...gcPreload, 'services/monitor/run/main.ts']
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', log, log] })
  closeSync(log)
  const base = `http://127.0.0.1:${port}`
  return {
    pid: child.pid!,
    port,
    logFile: o.logFile,
    lastBatchError() {
      const lines = readFileSync(o.logFile, 'utf8')
        .split('\n')
        .filter((l) => FAILURE_EVENTS.some((e) => l.includes(`"event":"${e}"`)))
      const last = lines[lines.length - 1]
      if (!last) return null
      try {
        const entry = JSON.parse(last) as { event?: string; err?: { message?: string } }
        return `${entry.event}: ${entry.err?.message ?? last}`.slice(0, 300)
      } catch {
        return last.slice(0, 300)
      }
    },
    async ready(timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`monitor exited (${child.exitCode ?? child.signalCode}) before it was ready; see ${o.logFile}`)
        const ok = await fetch(`${base}/_ready`).then(
          (r) => r.ok,
          () => false,
        )
        if (ok) return performance.now()
        if (Date.now() > deadline) throw new Error(`monitor not ready after ${timeoutMs} ms; see ${o.logFile}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async metrics() {
      const response = await fetch(`${base}/metrics`)
      if (!response.ok) throw new Error(`/metrics answered ${response.status}`)
      return parsePromText(await response.text())
    },
    async collectGarbage() {
      if (!o.gcOnSignal) throw new Error('monitor started without gcOnSignal')
      child.kill('SIGUSR2')
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      await exited(child)
      clearTimeout(timer)
    },
  }
}
