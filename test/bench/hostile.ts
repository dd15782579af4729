import type { OutgoingRecord } from '../../services/shared/kafka/records.ts'
import { hostileRecords, type HostileRecord } from '../support/hostile-records.ts'
import type { BenchContext } from './bench-context.ts'
import { createBenchTopics, GroupProgress } from './bench-kafka.ts'
import { produceAll } from './bench-produce.ts'
import { planTraffic, plannedLabel, plannedPrediction } from './bench-traffic.ts'
import { runPipeline, type PipelineRun } from './pipeline-run.ts'

/** One hostile record after every HOSTILE_EVERY - 1 valid ones, on both topics: 1 %. */
const HOSTILE_EVERY = 100

export interface HostileResult {
  hostile: { predictions: number; labels: number; kinds: string[] }
  pipeline: PipelineRun
  /** Records in the dead-letter topic after the run; every hostile record makes exactly one. */
  dead_letters: number
  /** Pipeline events/s with hostile records over the clean run's, same traffic otherwise. */
  ratio_to_clean: number | null
}

/**
 * The throughput phase's traffic again, with 1 % of each topic replaced by records that once
 * stopped or froze the monitor (test/support/hostile-records.ts), through one monitor process.
 * Valid records are the same, so the rate compares with the clean pipeline run of this bench.
 */
export async function runHostile(ctx: BenchContext, clean: PipelineRun | null): Promise<HostileResult> {
  const n = ctx.options.predictions
  const prefix = `bench-${ctx.runId}-hx-`
  const topics = await createBenchTopics(ctx.kafka, prefix, ctx.options.partitions)
  ctx.track({ topics: [topics.predictions, topics.labels, topics.deadLetter, topics.triggers, topics.retrainRequests] })
  const plan = planTraffic({ modelId: ctx.modelId, seed: 7, count: n, now: Date.now() })
  const predictionSchemaId = await ctx.codec.register(topics.predictions, 'PredictionEvent')
  const labelSchemaId = await ctx.codec.register(topics.labels, 'LabelEvent')
  const catalogue = (serial: string): HostileRecord[] =>
    // Smaller oversized cases than the integration test's: several share a produce request here.
    hostileRecords({ modelId: ctx.modelId, predictionSchemaId, labelSchemaId, now: Date.now(), serial, features: 2_000, valueBytes: 20_000 })
  const kinds = catalogue('kinds')
  const byTopic = { predictions: kinds.filter((h) => h.topic === 'predictions').length, labels: kinds.filter((h) => h.topic === 'labels').length }

  const withHostile = (topic: 'predictions' | 'labels', valid: (i: number) => Promise<OutgoingRecord>) => {
    const total = n + Math.floor(n / (HOSTILE_EVERY - 1))
    const make = async (k: number): Promise<OutgoingRecord> => {
      if (k % HOSTILE_EVERY !== HOSTILE_EVERY - 1) return valid(k - Math.floor(k / HOSTILE_EVERY))
      const slot = Math.floor(k / HOSTILE_EVERY)
      const h = catalogue(String(slot)).filter((c) => c.topic === topic)[slot % byTopic[topic]]!
      return { key: h.key, value: h.value, timestamp: h.at }
    }
    return { total, make }
  }
  console.log(`hostile: producing ${n} predictions and ${n} labels with 1 % hostile records`)
  const p = withHostile('predictions', async (i) => {
    const { event, at } = plannedPrediction(plan, i)
    return { key: event.prediction_id, value: await ctx.codec.encode(topics.predictions, 'PredictionEvent', event), timestamp: at }
  })
  const l = withHostile('labels', async (k) => {
    const { event, at } = plannedLabel(plan, k)
    return { key: event.prediction_id, value: await ctx.codec.encode(topics.labels, 'LabelEvent', event), timestamp: at }
  })
  await produceAll(ctx.kafka, topics.predictions, p.total, p.make)
  await produceAll(ctx.kafka, topics.labels, l.total, l.make)
  const hostile = { predictions: p.total - n, labels: l.total - n }

  console.log('hostile: one monitor process')
  const pipeline = await runPipeline(ctx, { tag: 'hx', prefix, topics, processes: 1, expected: p.total + l.total })
  const progress = await GroupProgress.open(ctx.kafka)
  const deadLetters = await progress.endOf([topics.deadLetter]).finally(() => progress.close())
  return {
    hostile: { ...hostile, kinds: kinds.map((h) => `${h.topic}: ${h.name} (${h.code})`) },
    pipeline,
    dead_letters: deadLetters,
    ratio_to_clean: clean ? Math.round((pipeline.events_per_s / clean.events_per_s) * 1000) / 1000 : null,
  }
}
