import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { createKafka } from '../../services/shared/kafka/kafka-client.ts'
import { createLogger } from '../../services/shared/logging/logger.ts'
import { createBenchContext } from './bench-context.ts'
import { waitForInfra } from './infra-check.ts'
import { writeBenchConfig } from './bench-model.ts'
import { parseBenchOptions } from './bench-options.ts'
import { runLatency } from './latency.ts'
import { runMemory } from './memory.ts'
import { markdownReport, type BenchResults } from './report.ts'
import { runPipeline } from './pipeline-run.ts'
import { runThroughput } from './throughput.ts'

// `npm run bench [-- --quick] [-- --phases=throughput,memory,latency,scaling] [-- --keep]`:
// measures the monitor on the local Kafka and ClickHouse (bash infra/local/up.sh) and writes
// bench-results/<ISO time>.json plus a markdown table on stdout. See README.md, Performance.

const options = parseBenchOptions(process.argv.slice(2), process.env)
const startedAt = new Date()
const runId = startedAt.toISOString().replace(/[-:T.Z]/g, '').slice(2, 14) + Math.random().toString(36).slice(2, 5)
const resultsDir = join(process.cwd(), 'bench-results')
mkdirSync(resultsDir, { recursive: true })
const logger = createLogger('bench', process.env.BENCH_LOG_LEVEL ?? 'warn')
const kafka = createKafka({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: `bench-${runId}` }, logger)
const modelId = `bench-${runId}`
const ctx = createBenchContext({
  kafka,
  codec: EventCodec.forRegistry(options.registryUrl),
  logger,
  options,
  runId,
  clickhouseUrl: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
  configPath: writeBenchConfig(modelId, `${modelId}-trig`),
  modelId,
  triggerModelId: `${modelId}-trig`,
  resultsDir,
})

const gitHead = (): string => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim()
  } catch {
    return 'unknown'
  }
}

const results: Record<string, unknown> = {
  started_at: startedAt.toISOString(),
  git_head: gitHead(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version, load_average_at_start: loadavg().map((l) => Math.round(l * 100) / 100) },
  options: { ...options, registryUrl: undefined },
}
let failed: unknown = null
const stopSignal = (): void => {
  console.error('interrupted: cleaning up')
  void ctx.cleanup().finally(() => process.exit(130))
}
process.once('SIGINT', stopSignal)
process.once('SIGTERM', stopSignal)
try {
  await waitForInfra(kafka, { clickhouseUrl: ctx.clickhouseUrl, registryUrl: options.registryUrl, timeoutMs: 120_000 })
  console.log(`bench ${runId}: ${options.quick ? 'quick' : 'full'} run, ${options.predictions} predictions + ${options.predictions} labels, phases ${options.phases.join(', ')}; logs in ${ctx.logDir}`)
  let produced: Awaited<ReturnType<typeof runThroughput>>['produced'] | null = null
  if (options.phases.includes('throughput') || options.phases.includes('scaling')) {
    const t = await runThroughput(ctx)
    results.throughput = t.result
    produced = t.produced
  }
  if (options.phases.includes('memory')) results.memory = await runMemory(ctx)
  if (options.phases.includes('latency')) results.latency = await runLatency(ctx)
  if (options.phases.includes('scaling') && produced) {
    console.log('scaling: two monitor processes in one group')
    results.scaling = { two: await runPipeline(ctx, { tag: 'two', prefix: produced.prefix, topics: produced.topics, processes: 2, expected: produced.records }) }
  }
} catch (error) {
  failed = error
  results.error = error instanceof Error ? error.stack ?? error.message : String(error)
} finally {
  results.finished_at = new Date().toISOString()
  results.load_average_at_end = loadavg().map((l) => Math.round(l * 100) / 100)
  results.cleanup_problems = await ctx.cleanup()
}
const file = join(resultsDir, `${startedAt.toISOString()}.json`)
writeFileSync(file, JSON.stringify(results, null, 2))
console.log(`\n${markdownReport(results as unknown as BenchResults)}\nresults: ${file}`)
if (failed) {
  console.error(failed)
  process.exitCode = 1
}
process.exit()
