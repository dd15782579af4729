import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { RowBinaryRowsWriter } from '../../services/shared/clickhouse/row-binary.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { createBatchConsumer } from '../../services/shared/kafka/batch-consumer.ts'
import type { TopicNames } from '../../services/shared/kafka/topics.ts'
import { LABEL_LAYOUT, PREDICTION_LAYOUT, labelRow } from '../../services/monitor/core/ingest/event-rows.ts'
import { validateLabel, validatePrediction } from '../../services/monitor/core/ingest/validate-event.ts'
import { loadRuntimeModels } from '../../services/monitor/run/runtime-models.ts'
import type { BenchContext } from './bench-context.ts'
import { clickhouseCpuUntilQuiet, cpuBetween, cpuSnapshot } from './host-cpu.ts'

/**
 * What storing the raw events costs whatever computes the windows: the same consumer loop,
 * decoding, checks and RowBinary rows as the monitor, into the same tables (with the
 * prediction_keys view), and nothing else: no join index, no windows, no detectors.
 */
export interface IngestFloor {
  records: number
  seconds: number
  events_per_s: number
  /** CPU of the consuming process (user + system), per event. */
  consumer_us_per_event: number
  /** ClickHouse's CPU while consuming (inserts and the merges meanwhile), per event. */
  clickhouse_us_per_event: number | null
  /** ClickHouse's CPU after the last commit until it is quiet (the merges left), per event. */
  clickhouse_after_us_per_event: number
}

export async function runIngestFloor(ctx: BenchContext, o: { topics: TopicNames; expected: number }): Promise<IngestFloor> {
  const ch = await ctx.database('floor')
  const groupId = `bench-${ctx.runId}-floor`
  ctx.track({ groups: [groupId] })
  const codec = EventCodec.forRegistry(ctx.options.registryUrl)
  const models = loadRuntimeModels(loadDriftgateConfig(ctx.configPath))
  let records = 0
  let done: () => void = () => undefined
  const finished = new Promise<void>((resolve) => (done = resolve))
  const consumer = createBatchConsumer(
    ctx.kafka,
    {
      groupId,
      topics: [o.topics.predictions, o.topics.labels],
      maxBatchSize: ctx.options.batchSize,
      lingerMs: ctx.options.lingerMs,
      handleBatch: async (batch) => {
        const ingestedAt = Date.now()
        const predictions = new RowBinaryRowsWriter(PREDICTION_LAYOUT, Math.max(1 << 12, batch.length * 256))
        const labels = new RowBinaryRowsWriter(LABEL_LAYOUT)
        for (const record of batch) {
          if (record.topic === o.topics.predictions) {
            const decoding = codec.decodePredictionNow(record.value)
            const { event } = decoding instanceof Promise ? await decoding : decoding
            const model = models.get(event.model_id)
            if (!validatePrediction(event, model, record.timestamp)) predictions.add({ event, model: model!, record, ingestedAt })
          } else {
            const decoding = codec.decodeLabelNow(record.value)
            const { event } = decoding instanceof Promise ? await decoding : decoding
            if (!validateLabel(event, models.get(event.model_id), record.timestamp)) labels.add(labelRow(event, record, ingestedAt))
          }
        }
        await Promise.all([ch.insertRowBinary('predictions', predictions.inserts()), ch.insertRowBinary('labels', labels.inserts())])
        records += batch.length
        if (records >= o.expected) done()
      },
    },
    ctx.logger,
  )
  await clickhouseCpuUntilQuiet()
  const profiler = await startProfile()
  await consumer.start()
  const started = performance.now()
  const cpuBefore = cpuSnapshot()
  const ownBefore = process.cpuUsage()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, ctx.options.catchUpTimeoutMs)))])
  } finally {
    clearTimeout(timer)
  }
  const own = process.cpuUsage(ownBefore)
  const host = cpuBetween(cpuBefore, cpuSnapshot())
  const seconds = (performance.now() - started) / 1000
  await profiler?.stop()
  await consumer.stop()
  const after = await clickhouseCpuUntilQuiet()
  const perEvent = (cpuSeconds: number): number => round((cpuSeconds * 1e6) / Math.max(1, records))
  return {
    records,
    seconds: round(seconds),
    events_per_s: Math.round(records / seconds),
    consumer_us_per_event: perEvent((own.user + own.system) / 1e6),
    clickhouse_us_per_event: host.clickhouse_cores === null ? null : perEvent(host.clickhouse_cores * host.wall_s),
    clickhouse_after_us_per_event: perEvent(after.clickhouse_cpu_s),
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000

/** With BENCH_CPU_PROF=<dir>, a V8 CPU profile of this process while it consumes, next to the
 *  monitor's (the rest of the bench process is left out). */
async function startProfile(): Promise<{ stop(): Promise<void> } | null> {
  const dir = process.env.BENCH_CPU_PROF
  if (!dir) return null
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop')
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, `ingest-floor-${Date.now()}.cpuprofile`), JSON.stringify(profile))
      session.disconnect()
    },
  }
}
