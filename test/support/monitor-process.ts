import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'

const MONITOR_ENTRY = 'services/monitor/run/main.ts'

export interface MonitorProcessOptions {
  configPath: string
  database: string
  topicPrefix: string
  groupId: string
  registryUrl: string
  batchSize?: number
}

/**
 * Starts the monitor as its own process (services/monitor/run/main.ts), as in production. Node itself
 * with tsx as a loader, not the tsx command: that one runs the code in a child process of its own,
 * so a SIGKILL sent to it would leave the monitor running.
 */
export function startMonitorProcess(o: MonitorProcessOptions): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MONITOR_ENTRY], {
    env: {
      ...process.env,
      DRIFTGATE_CONFIG: o.configPath,
      CLICKHOUSE_DATABASE: o.database,
      TOPIC_PREFIX: o.topicPrefix,
      MONITOR_GROUP_ID: o.groupId,
      SCHEMA_REGISTRY_URL: o.registryUrl,
      MONITOR_BATCH_SIZE: String(o.batchSize ?? 200),
      MONITOR_LINGER_MS: '20',
      METRICS_PORT: '0',
      // Join health judges orphans against the wall clock; runs compared with each other leave it out.
      MONITOR_LABEL_HEALTH_MS: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  return child
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

/** SIGKILL: no shutdown code runs, nothing is flushed or committed. */
export async function killHard(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL')
  await exited(child)
}

export async function stopGracefully(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM')
  await exited(child)
}

/** Pids of the live processes running the monitor's entry point whose environment has
 *  MONITOR_GROUP_ID=`groupId` (Linux /proc; elsewhere an empty list). Helpers that inherit the
 *  environment (tsx's esbuild service, which exits once its parent's pipe closes) are not the monitor. */
export function monitorProcessesOfGroup(groupId: string): number[] {
  if (!existsSync('/proc')) return []
  const wanted = `MONITOR_GROUP_ID=${groupId}`
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return (
          readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(MONITOR_ENTRY) && readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(wanted)
        )
      } catch {
        return false // gone meanwhile, or not ours to read
      }
    })
    .map(Number)
}
