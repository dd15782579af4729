import { EventCodec, readerType } from '../../services/shared/codec/event-codec.ts'
import type { TopicNames } from '../../services/shared/kafka/topics.ts'
import type { BenchContext } from './bench-context.ts'
import { createBenchTopics, rawConsume } from './bench-kafka.ts'
import { clickhouseCpuUntilQuiet } from './host-cpu.ts'
import { runIngestFloor, type IngestFloor } from './ingest-floor.ts'
import { produceAll, type ProduceResult } from './bench-produce.ts'
import { planTraffic, plannedLabel, plannedPrediction } from './bench-traffic.ts'
import { runPipeline, type PipelineRun } from './pipeline-run.ts'

/** Buffers kept in memory for the decode measurement (a rate: a sample is representative). */
const DECODE_SAMPLE = 200_000

export interface ProducedTopics {
  prefix: string
  topics: TopicNames
  records: number
}

export interface ThroughputResult {
  produced: {
    predictions: ProduceResult & { per_s: number; avg_bytes: number }
    labels: ProduceResult & { per_s: number; avg_bytes: number }
    event_span_days: number
  }
  /** EventCodec.decodePredictionNow / decodeLabelNow as the monitor calls them (Avro plus the
   *  event shape checks), and the Avro part alone (avsc with our reader schema). */
  decode: { sample: number; predictions_per_s: number; labels_per_s: number; avro_only_predictions_per_s: number }
  raw: { method: string; records: number; seconds: number; events_per_s: number; batches: number; finished: boolean; cpu_us_per_event: number }
  /** Storing the raw events and nothing else (ingest-floor.ts): what any way of computing windows pays. */
  floor: IngestFloor
  pipeline: PipelineRun
  /** ClickHouse's CPU after the pipeline's last commit until it is quiet, per event. */
  pipeline_clickhouse_after_us_per_event: number
  /** Pipeline events/s over raw consumption events/s. */
  ratio: number
}

/** Buffers decoded per second (best of two passes: the first one warms the JIT). */
async function decodeRate(buffers: Buffer[], decode: (b: Buffer) => unknown): Promise<number> {
  let best = 0
  for (let pass = 0; pass < 2; pass++) {
    const started = performance.now()
    for (const b of buffers) {
      const decoded = decode(b)
      if (decoded instanceof Promise) await decoded
    }
    best = Math.max(best, buffers.length / ((performance.now() - started) / 1000))
  }
  return Math.round(best)
}

const withRate = (r: ProduceResult) => ({ ...r, per_s: Math.round(r.records / r.seconds), avg_bytes: Math.round(r.bytes / Math.max(1, r.records)) })

/** Pre-produces the traffic, then measures decoding alone, raw consumption and the monitor pipeline on it. */
export async function runThroughput(ctx: BenchContext): Promise<{ result: ThroughputResult; produced: ProducedTopics }> {
  const n = ctx.options.predictions
  const prefix = `bench-${ctx.runId}-tp-`
  const topics = await createBenchTopics(ctx.kafka, prefix, ctx.options.partitions)
  ctx.track({ topics: [topics.predictions, topics.labels, topics.deadLetter, topics.triggers, topics.retrainRequests] })
  const plan = planTraffic({ modelId: ctx.modelId, seed: 7, count: n, now: Date.now() })

  const sample = Math.min(n, DECODE_SAMPLE)
  const predictionBuffers: Buffer[] = []
  const labelBuffers: Buffer[] = []
  const report = (what: string) => (done: number) => {
    if (done % 100_000 < 5_000) console.log(`  produced ${done}/${n} ${what}`)
  }
  console.log(`throughput: producing ${n} predictions and ${n} labels`)
  const predictions = await produceAll(
    ctx.kafka,
    topics.predictions,
    n,
    async (k) => {
      const { event, at } = plannedPrediction(plan, k)
      const value = await ctx.codec.encode(topics.predictions, 'PredictionEvent', event)
      if (k < sample) predictionBuffers.push(value)
      return { key: event.prediction_id, value, timestamp: at }
    },
    { onProgress: report('predictions') },
  )
  const labels = await produceAll(
    ctx.kafka,
    topics.labels,
    n,
    async (k) => {
      const { event, at } = plannedLabel(plan, k)
      const value = await ctx.codec.encode(topics.labels, 'LabelEvent', event)
      if (k < sample) labelBuffers.push(value)
      return { key: event.prediction_id, value, timestamp: at }
    },
    { onProgress: report('labels') },
  )

  console.log(`throughput: decoding ${sample} predictions and labels in memory`)
  // A codec of its own, as the monitor has: the registry lookup of the writer schema is cached
  // after the first record, as it is in the monitor.
  const codec = EventCodec.forRegistry(ctx.options.registryUrl)
  const avro = readerType('PredictionEvent')
  const decode = {
    sample,
    predictions_per_s: await decodeRate(predictionBuffers, (b) => codec.decodePredictionNow(b)),
    labels_per_s: await decodeRate(labelBuffers, (b) => codec.decodeLabelNow(b)),
    // Our records are written with our own schema, so no resolver is involved here either.
    avro_only_predictions_per_s: await decodeRate(predictionBuffers, (b) => avro.fromBuffer(b.subarray(5))),
  }
  predictionBuffers.length = 0
  labelBuffers.length = 0

  console.log('throughput: raw consumption (batch consumer, no-op handler)')
  const rawGroup = `bench-${ctx.runId}-raw`
  ctx.track({ groups: [rawGroup] })
  const rawCpu = process.cpuUsage()
  const raw = await rawConsume(
    ctx.kafka,
    {
      groupId: rawGroup,
      topics: [topics.predictions, topics.labels],
      expected: 2 * n,
      maxBatchSize: ctx.options.batchSize,
      lingerMs: ctx.options.lingerMs,
      timeoutMs: ctx.options.catchUpTimeoutMs,
    },
    ctx.logger,
  )
  const rawUsed = process.cpuUsage(rawCpu)
  const rawRate = Math.round(raw.records / raw.seconds)

  console.log('throughput: storing the raw events alone')
  const floor = await runIngestFloor(ctx, { topics, expected: 2 * n })

  console.log('throughput: one monitor process')
  const pipeline = await runPipeline(ctx, { tag: 'tp', prefix, topics, processes: 1, expected: 2 * n })
  const pipelineAfter = await clickhouseCpuUntilQuiet()
  return {
    result: {
      produced: { predictions: withRate(predictions), labels: withRate(labels), event_span_days: plan.spanMs / 86_400_000 },
      decode,
      raw: {
        method:
          'createBatchConsumer (services/shared/kafka/batch-consumer.ts) with a handler that only counts; same batch size, linger and offset commits as the monitor',
        records: raw.records,
        seconds: round(raw.seconds),
        events_per_s: rawRate,
        batches: raw.batches,
        finished: raw.records >= 2 * n,
        // The whole bench process while it consumed (it does nothing else meanwhile).
        cpu_us_per_event: round((rawUsed.user + rawUsed.system) / Math.max(1, raw.records)),
      },
      floor,
      pipeline,
      pipeline_clickhouse_after_us_per_event: round((pipelineAfter.clickhouse_cpu_s * 1e6) / Math.max(1, pipeline.records)),
      ratio: round(pipeline.events_per_s / rawRate),
    },
    produced: { prefix, topics, records: 2 * n },
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000
