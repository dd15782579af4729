import type { BenchContext } from './bench-context.ts'
import { GroupProgress, createBenchTopics, waitCaughtUp } from './bench-kafka.ts'
import { produceAll } from './bench-produce.ts'
import { planTraffic, plannedPrediction } from './bench-traffic.ts'
import type { BenchMonitor } from './monitor-child.ts'
import { promValue } from './prom-text.ts'

export interface MemoryResult {
  predictions: number
  index_entries: number
  rss_before_mb: number
  rss_after_mb: number
  heap_used_before_mb: number
  heap_used_after_mb: number
  /** (RSS after - RSS before) / index entries, as soon as the predictions are all read. */
  rss_bytes_per_prediction: number
  /** The same once the monitor has been idle for SETTLE_MS: the heap that ingestion grew and V8
   *  gives back over time no longer counted (what each waiting prediction costs while it waits). */
  rss_bytes_per_prediction_settled: number
  external_bytes_per_prediction: number
  heap_bytes_per_prediction: number
  finished: boolean
}

const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10

export const SETTLE_MS = 20_000

/** RSS and heap in use after a full GC in the monitor (garbage of past batches is not what it
 *  holds), and memory outside the heap (the index's typed arrays). */
async function settledMemory(monitor: BenchMonitor): Promise<{ rss: number; heap: number; external: number; entries: number }> {
  await monitor.collectGarbage()
  const m = await monitor.metrics()
  return {
    rss: promValue(m, 'process_resident_memory_bytes'),
    heap: promValue(m, 'nodejs_heap_size_used_bytes'),
    external: promValue(m, 'nodejs_external_memory_bytes'),
    entries: promValue(m, 'driftgate_prediction_index_entries'),
  }
}

/**
 * RSS of a monitor holding N predictions that wait for their labels: the monitor starts on empty
 * topics (baseline), N predictions without labels are produced, and once they are all committed
 * the index holds them (MONITOR_INDEX_PER_PARTITION large enough for all of them).
 */
export async function runMemory(ctx: BenchContext): Promise<MemoryResult> {
  const n = ctx.options.memoryPredictions
  console.log(`memory: a monitor holding ${n} predictions waiting for labels`)
  const prefix = `bench-${ctx.runId}-mem-`
  const topics = await createBenchTopics(ctx.kafka, prefix, ctx.options.partitions)
  ctx.track({ topics: [topics.predictions, topics.labels, topics.deadLetter, topics.triggers, topics.retrainRequests] })
  const ch = await ctx.database('mem')
  const groupId = `bench-${ctx.runId}-mem`
  ctx.track({ groups: [groupId] })
  const monitor = await ctx.monitor({ tag: 'mem', database: ch.database, topicPrefix: prefix, groupId, indexPerPartition: n, gcOnSignal: true })
  const since = await monitor.ready()
  const before = await settledMemory(monitor)
  const plan = planTraffic({ modelId: ctx.modelId, seed: 13, count: n, now: Date.now() })
  await produceAll(ctx.kafka, topics.predictions, n, async (k) => {
    const { event, at } = plannedPrediction(plan, k)
    return { key: event.prediction_id, value: await ctx.codec.encode(topics.predictions, 'PredictionEvent', event), timestamp: at }
  })
  const progress = await GroupProgress.open(ctx.kafka)
  const caught = await waitCaughtUp(progress, {
    groupId,
    topics: [topics.predictions],
    expected: n,
    since,
    timeoutMs: ctx.options.catchUpTimeoutMs,
    label: 'memory',
  }).finally(() => progress.close())
  const after = await settledMemory(monitor)
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const settled = await settledMemory(monitor)
  await monitor.stop()
  const entries = Math.max(1, after.entries)
  return {
    predictions: n,
    index_entries: after.entries,
    rss_before_mb: mb(before.rss),
    rss_after_mb: mb(after.rss),
    heap_used_before_mb: mb(before.heap),
    heap_used_after_mb: mb(after.heap),
    rss_bytes_per_prediction: Math.round((after.rss - before.rss) / entries),
    rss_bytes_per_prediction_settled: Math.round((settled.rss - before.rss) / entries),
    external_bytes_per_prediction: Math.round((settled.external - before.external) / entries),
    heap_bytes_per_prediction: Math.round((after.heap - before.heap) / entries),
    finished: caught.finished,
  }
}
