// What a bench run measures and how big it is: from the command line (`--quick`, `--phases=`,
// `--keep`) and the environment (BENCH_*). Parsed once by run.ts and passed to every phase.

export type Phase = 'throughput' | 'hostile' | 'memory' | 'latency' | 'scaling' | 'calibration'
/** The phases a run without --phases measures: the monitor on Kafka and ClickHouse. */
export const ALL_PHASES: Phase[] = ['throughput', 'hostile', 'memory', 'latency', 'scaling']
/** Also accepted: 'calibration' (detector false-alarm and detection rates, pure computation, no servers). */
const KNOWN_PHASES: Phase[] = [...ALL_PHASES, 'calibration']

export interface BenchOptions {
  quick: boolean
  phases: Phase[]
  /** Predictions produced for throughput and scaling (each gets one label). */
  predictions: number
  /** Predictions held by the monitor in the memory phase. */
  memoryPredictions: number
  /** Predictions already stored before labels are sampled in the latency phase. */
  latencyHistory: number
  /** Labels whose visibility is timed, sent in groups of latencyGroup (one window each). */
  latencyLabels: number
  latencyGroup: number
  /** Window closes timed from the closing prediction to the trigger. */
  triggerWindows: number
  partitions: number
  /** Monitor settings (MONITOR_BATCH_SIZE / MONITOR_LINGER_MS), the service defaults unless set. */
  batchSize: number
  lingerMs: number
  /** Longest wait for a monitor to catch up before the run is reported as unfinished. */
  catchUpTimeoutMs: number
  /** Leave topics and databases in place (to inspect them). */
  keep: boolean
  registryUrl: string
  clickhouseUrl: string
  /** CLICKHOUSE_URL given to the monitor children (BENCH_MONITOR_CLICKHOUSE_URL; default the same server). */
  monitorClickhouseUrl: string
}

const int = (value: string | undefined, fallback: number): number => {
  if (value === undefined || value === '') return fallback
  const n = Number(value.replace(/_/g, ''))
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got '${value}'`)
  return n
}

export function parseBenchOptions(argv: string[], env: Record<string, string | undefined>): BenchOptions {
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1'
  const phasesArg = argv.find((a) => a.startsWith('--phases='))?.slice('--phases='.length) ?? env.BENCH_PHASES
  const phases = phasesArg ? phasesArg.split(',').map((p) => p.trim()) : ALL_PHASES
  const unknown = phases.filter((p) => !KNOWN_PHASES.includes(p as Phase))
  if (unknown.length > 0) throw new Error(`unknown phase(s) ${unknown.join(', ')}; use ${KNOWN_PHASES.join(', ')}`)
  const clickhouseUrl = env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123'
  // Sizes: the quick run must finish in under two minutes on a 2-core machine with everything
  // (Kafka, ClickHouse, monitor children) sharing the cores. The full default is the 1,000,000
  // predictions (and labels) the throughput figure is defined on: its throughput phase took about
  // 8 minutes there (docs/performance.md); all four phases take several times that.
  const predictions = int(env.BENCH_PREDICTIONS, quick ? 5_000 : 1_000_000)
  return {
    quick,
    phases: phases as Phase[],
    predictions,
    memoryPredictions: int(env.BENCH_MEMORY_PREDICTIONS, predictions),
    latencyHistory: int(env.BENCH_LATENCY_HISTORY, quick ? 1_000 : 20_000),
    latencyLabels: int(env.BENCH_LATENCY_LABELS, quick ? 24 : 300),
    latencyGroup: Math.max(1, int(env.BENCH_LATENCY_GROUP, quick ? 8 : 5)),
    triggerWindows: int(env.BENCH_TRIGGER_WINDOWS, quick ? 3 : 20),
    partitions: Math.max(1, int(env.BENCH_PARTITIONS, 6)),
    batchSize: Math.max(1, int(env.BENCH_BATCH_SIZE, 10_000)),
    lingerMs: int(env.BENCH_LINGER_MS, 200),
    catchUpTimeoutMs: int(env.BENCH_TIMEOUT_MIN, quick ? 3 : 60) * 60_000,
    keep: argv.includes('--keep'),
    registryUrl: env.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${env.SCHEMA_REGISTRY_PORT ?? 8081}`,
    clickhouseUrl,
    monitorClickhouseUrl: env.BENCH_MONITOR_CLICKHOUSE_URL ?? clickhouseUrl,
  }
}
