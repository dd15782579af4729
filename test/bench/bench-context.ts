import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Kafka } from 'kafkajs'
import { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { migrate } from '../../services/shared/clickhouse/migrate.ts'
import type { EventCodec } from '../../services/shared/codec/event-codec.ts'
import type { Logger } from '../../services/shared/logging/logger.ts'
import type { BenchOptions } from './bench-options.ts'
import { deleteKafkaObjects } from './bench-kafka.ts'
import { patiently } from './infra-check.ts'
import { startBenchMonitor, type BenchMonitor, type BenchMonitorOptions } from './monitor-child.ts'
import { withQueryLog } from './query-cpu.ts'

/** What every phase gets: clients, options, the generated config, and a record of what to clean up. */
export interface BenchContext {
  kafka: Kafka
  codec: EventCodec
  logger: Logger
  options: BenchOptions
  runId: string
  configPath: string
  modelId: string
  triggerModelId: string
  logDir: string
  /** A fresh migrated database `bench_<run>_<tag>`, dropped at the end. */
  database(tag: string): Promise<ClickHouse>
  /** A monitor child process, stopped at the end if the phase did not stop it. */
  monitor(
    o: Omit<BenchMonitorOptions, 'configPath' | 'registryUrl' | 'clickhouseUrl' | 'logFile' | 'batchSize' | 'lingerMs'> & {
      tag: string
      batchSize?: number
      lingerMs?: number
    },
  ): Promise<BenchMonitor>
  /** Topics and consumer groups to delete at the end. */
  track(what: { topics?: string[]; groups?: string[] }): void
  cleanup(): Promise<string[]>
}

export function createBenchContext(base: Omit<BenchContext, 'database' | 'monitor' | 'track' | 'cleanup' | 'logDir'> & { resultsDir: string }): BenchContext {
  const logDir = join(base.resultsDir, `logs-${base.runId}`)
  mkdirSync(logDir, { recursive: true })
  const databases: ClickHouse[] = []
  const monitors: BenchMonitor[] = []
  const topics = new Set<string>()
  const groups = new Set<string>()
  const { resultsDir: _r, ...rest } = base
  return {
    ...rest,
    logDir,
    async database(tag) {
      const ch = new ClickHouse({ url: base.options.clickhouseUrl, database: `bench_${base.runId}_${tag}` })
      databases.push(ch)
      await migrate(ch)
      return ch
    },
    async monitor(o) {
      const { tag, ...options } = o
      const monitor = await startBenchMonitor({
        batchSize: base.options.batchSize,
        lingerMs: base.options.lingerMs,
        ...options,
        configPath: base.configPath,
        registryUrl: base.options.registryUrl,
        clickhouseUrl: withQueryLog(base.options.monitorClickhouseUrl),
        logFile: join(logDir, `monitor-${tag}.log`),
        nodeFlags: [
          ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
          ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
        ],
      })
      monitors.push(monitor)
      return monitor
    },
    track(what) {
      for (const t of what.topics ?? []) topics.add(t)
      for (const g of what.groups ?? []) groups.add(g)
    },
    async cleanup() {
      const problems: string[] = []
      await Promise.all(monitors.map((m) => m.stop().catch((e: Error) => problems.push(`monitor ${m.pid}: ${e.message}`))))
      if (base.options.keep) return problems
      for (const ch of databases) {
        await patiently(() => ch.command(`DROP DATABASE IF EXISTS ${ch.database}`)).catch((e: Error) => problems.push(`database ${ch.database}: ${e.message}`))
        await ch.close().catch(() => undefined)
      }
      problems.push(...(await deleteKafkaObjects(base.kafka, [...topics], [...groups]).catch((e: Error) => [`kafka: ${e.message}`])))
      return problems
    },
  }
}
