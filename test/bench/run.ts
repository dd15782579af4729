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
import { runHostile } from './hostile.ts'
import { calibrationMarkdown, runCalibration } from './calibration.ts'

// `npm run bench [-- --quick] [-- --phases=throughput,hostile,memory,latency,scaling] [-- --keep]`:
// measures the monitor on the local Kafka and ClickHouse (bash infra/local/up.sh) and writes
// bench-results/<ISO time>.json plus a markdown table on stdout. See docs/performance.md.

const options = parseBenchOptions(process.argv.slice(2), process.env)
if (options.phases.includes('calibration')) {
  // Pure computation: printed first, and without the servers when it is the only phase.
  const calibration = runCalibration(options.quick)
  const out = join(process.cwd(), 'bench-results')
  mkdirSync(out, { recursive: true })
  const file = join(out, `${new Date().toISOString()}-calibration.json`)
  writeFileSync(file, JSON.stringify(calibration, null, 2))
  console.log(`\n${calibrationMarkdown(calibration)}\nresults: ${file}\n`)
  if (options.phases.length === 1) process.exit()
}
const startedAt = new Date()
const runId =
  startedAt
    .toISOString()
    .replace(/[-:T.Z]/g, '')
    .slice(2, 14) + Math.random().toString(36).slice(2, 5)
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
  configPath: writeBenchConfig(modelId, `${modelId}-trig`),
  modelId,
  triggerModelId: `${modelId}-trig`,
  resultsDir,
})

const git = (...args: string[]): string => {
  try {
    return execFileSync('git', args).toString().trim()
  } catch {
    return 'unknown'
  }
}

const results: Record<string, unknown> = {
  started_at: startedAt.toISOString(),
  git_head: git('rev-parse', '--short', 'HEAD'),
  // The monitor runs from the working tree: uncommitted changes under services/ are measured too.
  services_uncommitted: git('status', '--porcelain', '--', 'services').split('\n').filter(Boolean),
  machine: {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    load_average_at_start: loadavg().map((l) => Math.round(l * 100) / 100),
  },
  options,
}
let failed: unknown = null
const stopSignal = (): void => {
  console.error('interrupted: cleaning up')
  void ctx.cleanup().finally(() => process.exit(130))
}
process.once('SIGINT', stopSignal)
process.once('SIGTERM', stopSignal)
try {
  await waitForInfra(kafka, { clickhouseUrl: options.clickhouseUrl, registryUrl: options.registryUrl, timeoutMs: 120_000 })
  console.log(
    `bench ${runId}: ${options.quick ? 'quick' : 'full'} run, ${options.predictions} predictions + ${options.predictions} labels, phases ${options.phases.join(', ')}; logs in ${ctx.logDir}`,
  )
  const phaseSeconds: Record<string, number> = {}
  results.phase_seconds = phaseSeconds
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    try {
      return await run()
    } finally {
      phaseSeconds[name] = Math.round((performance.now() - started) / 100) / 10
    }
  }
  let produced: Awaited<ReturnType<typeof runThroughput>>['produced'] | null = null
  if (options.phases.includes('throughput') || options.phases.includes('scaling')) {
    const t = await timed('throughput', () => runThroughput(ctx))
    results.throughput = t.result
    produced = t.produced
  }
  if (options.phases.includes('hostile')) {
    const clean = (results.throughput as Awaited<ReturnType<typeof runThroughput>>['result'] | undefined)?.pipeline ?? null
    results.hostile = await timed('hostile', () => runHostile(ctx, clean))
  }
  if (options.phases.includes('memory')) results.memory = await timed('memory', () => runMemory(ctx))
  if (options.phases.includes('latency')) results.latency = await timed('latency', () => runLatency(ctx))
  const topicsForScaling = produced
  if (options.phases.includes('scaling') && topicsForScaling) {
    console.log('scaling: two monitor processes in one group')
    const two = await timed('scaling', () =>
      runPipeline(ctx, { tag: 'two', prefix: topicsForScaling.prefix, topics: topicsForScaling.topics, processes: 2, expected: topicsForScaling.records }),
    )
    results.scaling = { two }
  }
} catch (error) {
  failed = error
  results.error = error instanceof Error ? (error.stack ?? error.message) : String(error)
} finally {
  results.finished_at = new Date().toISOString()
  results.total_seconds = Math.round((Date.now() - startedAt.getTime()) / 1000)
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
