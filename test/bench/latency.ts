import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import type { PredictionEvent } from '../../services/shared/events/types.ts'
import { createBatchConsumer } from '../../services/shared/kafka/batch-consumer.ts'
import { createProducer, type RecordProducer } from '../../services/shared/kafka/producer.ts'
import type { TopicNames } from '../../services/shared/kafka/topics.ts'
import { prng } from '../support/traffic.ts'
import type { BenchContext } from './bench-context.ts'
import { GroupProgress, createBenchTopics, waitCaughtUp } from './bench-kafka.ts'
import { produceAll } from './bench-produce.ts'
import { makeLabel, makePrediction } from './bench-traffic.ts'
import { percentiles, type Percentiles } from './percentiles.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

export interface LatencyResult {
  /** Label produced -> labeled_count of its 1h window moved in window_summary (FINAL). */
  label_to_metric: (Percentiles & { history: number; group: number; timeouts: number }) | null
  /** Closing prediction produced -> first trigger for that window on the triggers topic. */
  close_to_trigger: (Percentiles & { windows: number; timeouts: number }) | { not_measured: string }
}

const windowKey = (start: number, version: string): string => `${start}|${version}`

async function labeledCounts(ch: ClickHouse, modelId: string, starts: number[]): Promise<Map<string, number>> {
  const rows = await ch.query<{ window_start: number; model_version: string; labeled_count: number }>(
    `SELECT window_start, model_version, labeled_count FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = ${lit(modelId)} AND window_size_ms = ${HOUR} AND segment = 'all' AND window_start IN (${starts.join(', ')})`,
  )
  return new Map(rows.map((r) => [windowKey(Number(r.window_start), r.model_version), Number(r.labeled_count)]))
}

/** Picks `count` predictions, `group` at a time from distinct 1h windows, so each label of a group moves its own window. */
function labelTargets(history: PredictionEvent[], count: number, group: number): PredictionEvent[][] {
  const byWindow = new Map<number, PredictionEvent[]>()
  for (const p of history) {
    const start = Math.floor(p.event_time / HOUR) * HOUR
    byWindow.set(start, [...(byWindow.get(start) ?? []), p])
  }
  const windows = [...byWindow.values()]
  const groups: PredictionEvent[][] = []
  let w = 0
  let taken = 0
  while (taken < count && windows.some((list) => list.length > 0)) {
    const g: PredictionEvent[] = []
    for (let i = 0; i < windows.length && g.length < group && taken < count; i++) {
      const p = windows[w++ % windows.length]!.pop()
      if (p) {
        g.push(p)
        taken++
      }
    }
    groups.push(g)
  }
  return groups
}

async function measureLabels(
  ctx: BenchContext,
  ch: ClickHouse,
  producer: RecordProducer,
  topics: TopicNames,
  history: PredictionEvent[],
): Promise<LatencyResult['label_to_metric']> {
  const { latencyLabels, latencyGroup } = ctx.options
  const latencies: number[] = []
  let timeouts = 0
  const rand = prng(23)
  for (const group of labelTargets(history, latencyLabels, latencyGroup)) {
    const starts = [...new Set(group.map((p) => Math.floor(p.event_time / HOUR) * HOUR))]
    const baseline = await labeledCounts(ch, ctx.modelId, starts)
    const records = []
    for (const p of group) records.push({ key: p.prediction_id, value: await ctx.codec.encode(topics.labels, 'LabelEvent', makeLabel(p, Date.now(), rand())) })
    const sent = performance.now()
    await producer.send(topics.labels, records)
    const pending = new Set(group)
    while (pending.size > 0 && performance.now() - sent < 30_000) {
      const counts = await labeledCounts(ch, ctx.modelId, starts)
      const now = performance.now()
      for (const p of pending) {
        const key = windowKey(Math.floor(p.event_time / HOUR) * HOUR, p.model_version)
        if ((counts.get(key) ?? 0) > (baseline.get(key) ?? 0)) {
          latencies.push(now - sent)
          pending.delete(p)
        }
      }
      if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    timeouts += pending.size
  }
  return { ...percentiles(latencies), history: history.length, group: latencyGroup, timeouts }
}

/**
 * One-minute windows of the trigger model, filled with drifted traffic (first six features
 * shifted by 1.5 sd, so drift fires on every window). Each round produces the next window's
 * predictions, which close the previous window (allowed_lateness 0: the first prediction past
 * its end closes it), and waits for that window's trigger on the triggers topic.
 */
async function measureTriggers(ctx: BenchContext, producer: RecordProducer, topics: TopicNames): Promise<LatencyResult['close_to_trigger']> {
  const arrivals = new Map<number, number>()
  const groupId = `bench-${ctx.runId}-trig`
  ctx.track({ groups: [groupId] })
  const listener = createBatchConsumer(
    ctx.kafka,
    {
      groupId,
      topics: [topics.triggers],
      lingerMs: 0,
      handleBatch: async (records) => {
        const at = performance.now()
        for (const r of records) {
          const { event } = await ctx.codec.decode(r.value, 'MonitorTrigger')
          if (event.model_id === ctx.triggerModelId && !arrivals.has(event.window_start)) arrivals.set(event.window_start, at)
        }
      },
    },
    ctx.logger,
  )
  await listener.start()
  const rand = prng(29)
  const first = Math.floor((Date.now() - 3 * HOUR) / MINUTE) * MINUTE
  let id = 0
  const fill = async (start: number): Promise<void> => {
    const records = []
    for (let i = 0; i < 300; i++) {
      const event = makePrediction(ctx.triggerModelId, `${ctx.triggerModelId}-${id++}`, start + Math.floor(rand() * MINUTE), rand, 1.5)
      records.push({ key: event.prediction_id, value: await ctx.codec.encode(topics.predictions, 'PredictionEvent', event) })
    }
    await producer.send(topics.predictions, records)
  }
  const latencies: number[] = []
  let timeouts = 0
  try {
    await fill(first)
    for (let k = 0; k < ctx.options.triggerWindows; k++) {
      const closing = first + k * MINUTE
      const sent = performance.now()
      await fill(closing + MINUTE)
      while (!arrivals.has(closing) && performance.now() - sent < 60_000) await new Promise((resolve) => setTimeout(resolve, 10))
      const at = arrivals.get(closing)
      if (at === undefined) timeouts++
      else latencies.push(at - sent)
    }
  } finally {
    await listener.stop()
  }
  return { ...percentiles(latencies), windows: ctx.options.triggerWindows, timeouts }
}

/** Latency with an otherwise idle monitor (one process, the service's batch size and linger). */
export async function runLatency(ctx: BenchContext): Promise<LatencyResult> {
  console.log(`latency: ${ctx.options.latencyLabels} labels in groups of ${ctx.options.latencyGroup}, ${ctx.options.triggerWindows} window closes`)
  const prefix = `bench-${ctx.runId}-lat-`
  const topics = await createBenchTopics(ctx.kafka, prefix, ctx.options.partitions)
  ctx.track({ topics: [topics.predictions, topics.labels, topics.deadLetter, topics.triggers, topics.retrainRequests] })
  const ch = await ctx.database('lat')
  const groupId = `bench-${ctx.runId}-lat`
  ctx.track({ groups: [groupId] })
  const monitor = await ctx.monitor({ tag: 'lat', database: ch.database, topicPrefix: prefix, groupId })
  const since = await monitor.ready()

  // History: predictions over the last 30 hours without labels, so every 1h window has some.
  const rand = prng(19)
  const now = Date.now()
  const from = Math.floor((now - 30 * HOUR) / HOUR) * HOUR
  const history = Array.from({ length: ctx.options.latencyHistory }, (_, i) =>
    makePrediction(ctx.modelId, `${ctx.modelId}-lat-${i}`, from + Math.floor(rand() * (now - HOUR - from)), rand),
  )
  await produceAll(ctx.kafka, topics.predictions, history.length, async (k) => ({
    key: history[k]!.prediction_id,
    value: await ctx.codec.encode(topics.predictions, 'PredictionEvent', history[k]!),
    timestamp: history[k]!.event_time + Math.floor(rand() * 10 * MINUTE),
  }))
  const progress = await GroupProgress.open(ctx.kafka)
  await waitCaughtUp(progress, { groupId, topics: [topics.predictions], expected: history.length, since, timeoutMs: ctx.options.catchUpTimeoutMs }).finally(
    () => progress.close(),
  )

  const producer = await createProducer(ctx.kafka)
  try {
    const label_to_metric = await measureLabels(ctx, ch, producer, topics, history)
    const close_to_trigger = await measureTriggers(ctx, producer, topics)
    return { label_to_metric, close_to_trigger }
  } finally {
    await producer.close()
    await monitor.stop()
  }
}
