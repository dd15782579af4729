import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import type { TopicNames } from '../../services/shared/kafka/topics.ts'
import type { BenchContext } from './bench-context.ts'
import { GroupProgress, waitCaughtUp, type CatchUp } from './bench-kafka.ts'
import { openGroupGate, type GroupGate } from './group-gate.ts'
import { patiently } from './infra-check.ts'
import { clickhouseCpuUntilQuiet, cpuBetween, cpuSnapshot, type CpuUse } from './host-cpu.ts'
import type { BenchMonitor } from './monitor-child.ts'
import { queryCpu, type QueryCpu } from './query-cpu.ts'
import { promValue, type PromSeries } from './prom-text.ts'

/** The steps the monitor reports in driftgate_batch_seconds{step}; others it adds later are reported too. */
export const STEPS = ['decode', 'insert', 'join', 'aggregate', 'detect']

export interface PipelineRun {
  processes: number
  records: number
  finished: boolean
  /** Why the run did not finish, from the monitor's log (a batch failing over and over). */
  stalled: string | null
  /** From the first monitor's /_ready (group joined), or with several processes from when all of
   *  them got their partitions (group-gate.ts), to offsets committed at the end of both topics. */
  seconds: number
  events_per_s: number
  /** Process start to the start of `seconds` (tsx load, connections, group join). */
  startup_s: number
  /** driftgate_batch_seconds sums over the run, all processes together; share of their total. */
  steps: Record<string, { seconds: number; share: number }>
  /** Wall time (times processes) not inside a measured step: fetch, linger, commit, timers. */
  outside_steps_s: number
  batches: number
  /** Monitor CPU seconds per wall second, all processes together (process_cpu_seconds_total). */
  monitor_cores: number
  host: CpuUse
  labels_joined: { memory: number; clickhouse: number; early: number }
  windows_recomputed: number
  /** Computations read again because rows were stored while they read. */
  window_rereads: number
  /** Seconds waited before the run for ClickHouse to finish an earlier phase's merges. */
  quiet_wait_s: number
  /** Rounds that computed windows (each reads its windows in one or more query sets). */
  rounds: number
  /** Per process, the windows it computed. */
  windows_recomputed_by_process: number[]
  /** Windows a process left to the instance owning their model, covered by its computation. */
  windows_covered_elsewhere: number
  /** Longest event-loop delay over the run (prom-client resets it at every scrape), per process. */
  eventloop_lag_max_s: number[]
  /** ClickHouse's CPU by kind of query over the run (query-cpu.ts); null without a query log. */
  query_cpu: QueryCpu | null
  checks: { predictions_stored: number; volume_1h: number; labeled_1h: number; windows_1h: number }
  progress: CatchUp['samples']
}

const scrapeAll = (monitors: BenchMonitor[]): Promise<PromSeries[][]> => Promise.all(monitors.map((m) => m.metrics()))
const total = (scrapes: PromSeries[][], name: string, labels: Record<string, string> = {}): number =>
  scrapes.reduce((sum, s) => sum + promValue(s, name, labels), 0)

/** What the monitor wrote, checked against what was produced. */
async function checks(ch: ClickHouse, modelId: string): Promise<PipelineRun['checks']> {
  const [stored] = await ch.query<{ n: number }>(`SELECT uniqExact(prediction_id) AS n FROM ${ch.table('predictions')} WHERE model_id = ${lit(modelId)}`)
  const [windows] = await ch.query<{ volume: number; labeled: number; windows: number }>(
    `SELECT sum(volume) AS volume, sum(labeled_count) AS labeled, uniqExact(window_start) AS windows FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = ${lit(modelId)} AND window_size_ms = 3600000 AND segment = 'all'`,
  )
  return {
    predictions_stored: Number(stored?.n ?? 0),
    volume_1h: Number(windows?.volume ?? 0),
    labeled_1h: Number(windows?.labeled ?? 0),
    windows_1h: Number(windows?.windows ?? 0),
  }
}

/**
 * Runs `processes` monitor children in one consumer group over pre-produced topics into their
 * own database and measures events/s until the group has committed everything. The monitor
 * commits a batch only after its raw rows, window metrics and detector output are written, so a
 * caught-up group means every window metric is in ClickHouse.
 */
export async function runPipeline(
  ctx: BenchContext,
  o: { tag: string; prefix: string; topics: TopicNames; processes: number; expected: number },
): Promise<PipelineRun> {
  const ch = await ctx.database(o.tag)
  const groupId = `bench-${ctx.runId}-${o.tag}`
  ctx.track({ groups: [groupId] })
  const progress = await GroupProgress.open(ctx.kafka)
  let gate: GroupGate | null = null
  try {
    const quietWait = (await clickhouseCpuUntilQuiet()).wait_s
    const spawned = performance.now()
    gate = o.processes > 1 ? await openGroupGate(ctx.kafka, { groupId, topics: [o.topics.predictions, o.topics.labels], members: o.processes }) : null
    const monitors = await Promise.all(
      Array.from({ length: o.processes }, (_, i) => ctx.monitor({ tag: `${o.tag}-${i}`, database: ch.database, topicPrefix: o.prefix, groupId })),
    )
    const readyAt = await Promise.all(monitors.map((m) => m.ready()))
    const since = gate ? await gate.opened : Math.min(...readyAt)
    const before = await scrapeAll(monitors)
    const cpuBefore = cpuSnapshot()
    const startedAt = Date.now()
    const caught = await waitCaughtUp(progress, {
      groupId,
      topics: [o.topics.predictions, o.topics.labels],
      expected: o.expected,
      since,
      timeoutMs: ctx.options.catchUpTimeoutMs,
      label: o.tag,
    })
    const cpuAfter = cpuSnapshot()
    const endedAt = Date.now()
    const after = await scrapeAll(monitors)
    const stalled = caught.finished
      ? null
      : (monitors.map((m) => m.lastBatchError()).find((e) => e !== null) ?? (caught.stalled ? 'no progress, no batch error logged' : 'timed out'))
    await Promise.all(monitors.map((m) => m.stop()))
    const reported = after
      .flat()
      .filter((x) => x.name === 'driftgate_batch_seconds_sum')
      .map((x) => x.labels.step ?? '')
    const steps = [...STEPS, ...new Set(reported.filter((step) => !STEPS.includes(step)))]
    const stepSeconds = steps.map((step) => total(after, 'driftgate_batch_seconds_sum', { step }) - total(before, 'driftgate_batch_seconds_sum', { step }))
    const stepTotal = stepSeconds.reduce((a, b) => a + b, 0)
    const delta = (name: string, labels: Record<string, string> = {}): number => total(after, name, labels) - total(before, name, labels)
    return {
      processes: o.processes,
      quiet_wait_s: quietWait,
      records: caught.committed,
      finished: caught.finished,
      stalled,
      seconds: round(caught.seconds),
      events_per_s: Math.round(caught.committed / caught.seconds),
      startup_s: round((since - spawned) / 1000),
      steps: Object.fromEntries(
        steps.map((step, i) => [step, { seconds: round(stepSeconds[i]!), share: round(stepTotal > 0 ? stepSeconds[i]! / stepTotal : 0) }]),
      ),
      outside_steps_s: round(Math.max(0, caught.seconds * o.processes - stepTotal)),
      batches: delta('driftgate_batch_seconds_count', { step: 'decode' }),
      monitor_cores: round(delta('process_cpu_seconds_total') / caught.seconds),
      host: cpuBetween(cpuBefore, cpuAfter),
      labels_joined: {
        memory: delta('driftgate_labels_joined_total', { source: 'memory' }),
        clickhouse: delta('driftgate_labels_joined_total', { source: 'clickhouse' }),
        early: delta('driftgate_labels_early_total'),
      },
      windows_recomputed: delta('driftgate_windows_recomputed_total'),
      window_rereads: delta('driftgate_window_rereads_total'),
      rounds: delta('driftgate_batch_seconds_count', { step: 'aggregate' }),
      windows_recomputed_by_process: after.map(
        (m, i) => promValue(m, 'driftgate_windows_recomputed_total') - promValue(before[i] ?? [], 'driftgate_windows_recomputed_total'),
      ),
      windows_covered_elsewhere: delta('driftgate_windows_covered_elsewhere_total'),
      eventloop_lag_max_s: after.map((m) => round(promValue(m, 'nodejs_eventloop_lag_max_seconds'))),
      query_cpu: await queryCpu(ch, ch.database, startedAt, endedAt),
      checks: await patiently(() => checks(ch, ctx.modelId)),
      progress: caught.samples,
    }
  } finally {
    await gate?.close()
    await progress.close()
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000
