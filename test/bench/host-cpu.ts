import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'

// CPU seconds of the local Kafka and ClickHouse servers and of the whole machine, read from
// /proc around a measured run: on a 2-core machine the monitor shares the cores with them, so
// where the machine's CPU went explains a throughput figure better than wall time alone.

const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
  } catch {
    return 100
  }
})()

const STATE_DIR = process.env.DRIFTGATE_STATE_DIR ?? join(process.cwd(), '.local')

function pidOf(file: string): number | null {
  try {
    const pid = Number(readFileSync(join(STATE_DIR, file), 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** utime + stime of a process, in seconds (null when it is not readable). */
export function processCpuSeconds(pid: number | null): number | null {
  if (pid === null) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS
  } catch {
    return null
  }
}

export interface CpuSnapshot {
  at: number
  pids: string
  clickhouse: number | null
  kafka: number | null
  /** Machine-wide busy and total CPU seconds (all cores). */
  busy: number
  total: number
}

export function cpuSnapshot(): CpuSnapshot {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const idle = (line[3] ?? 0) + (line[4] ?? 0)
  const total = line.reduce((a, b) => a + b, 0)
  const clickhouse = pidOf('clickhouse/clickhouse.pid')
  const kafka = pidOf('kafka/kafka.pid')
  return {
    at: performance.now(),
    pids: `${clickhouse}/${kafka}`,
    clickhouse: processCpuSeconds(clickhouse),
    kafka: processCpuSeconds(kafka),
    busy: (total - idle) / TICKS,
    total: total / TICKS,
  }
}

export interface CpuUse {
  wall_s: number
  /** CPU seconds per wall second (1.0 = one core busy). */
  clickhouse_cores: number | null
  kafka_cores: number | null
  machine_busy_share: number
  cores: number
  /** Kafka or ClickHouse was restarted during the run (someone else's outage test): the figure is not comparable. */
  server_restarted: boolean
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const wall = (b.at - a.at) / 1000
  // A restarted server has a new pid and starts counting from zero: no figure for it.
  const restarted = a.pids !== b.pids
  const rate = (x: number | null, y: number | null): number | null => (x === null || y === null || wall <= 0 || restarted ? null : round((y - x) / wall))
  return {
    wall_s: round(wall),
    clickhouse_cores: rate(a.clickhouse, b.clickhouse),
    kafka_cores: rate(a.kafka, b.kafka),
    machine_busy_share: round(b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0),
    cores: cpus().length,
    server_restarted: restarted,
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000

/**
 * Waits until ClickHouse uses less than 0.05 cores over 2 s (up to `maxMs`), so that merges of
 * an earlier phase's tables are not counted against the next; returns the seconds waited and
 * ClickHouse's CPU seconds meanwhile (0 when it cannot be read).
 */
export async function clickhouseCpuUntilQuiet(maxMs = 120_000): Promise<{ wait_s: number; clickhouse_cpu_s: number }> {
  const started = performance.now()
  const first = cpuSnapshot()
  for (;;) {
    const a = cpuSnapshot()
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const b = cpuSnapshot()
    const cores = cpuBetween(a, b).clickhouse_cores
    if (cores === null || cores < 0.05 || performance.now() - started >= maxMs) {
      const used = first.clickhouse !== null && b.clickhouse !== null && first.pids === b.pids ? b.clickhouse - first.clickhouse : 0
      return { wait_s: round((performance.now() - started) / 1000), clickhouse_cpu_s: round(used) }
    }
  }
}
