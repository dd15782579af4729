import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { buildRuntimeModel } from '../../../services/monitor/core/runtime-model.ts'
import { createMonitorMetrics } from '../../../services/monitor/run/monitor-metrics.ts'
import { MonitorPipeline } from '../../../services/monitor/run/monitor-pipeline.ts'
import { defaultMonitorSettings } from '../../../services/monitor/run/monitor-settings.ts'
import type { ComputedWindows, WindowStore } from '../../../services/monitor/store/window-store.ts'
import type { ClickHouse } from '../../../services/shared/clickhouse/client.ts'
import type { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import type { LabelEvent, PredictionEvent } from '../../../services/shared/events/types.ts'
import type { RecordProducer } from '../../../services/shared/kafka/producer.ts'
import type { ConsumedRecord } from '../../../services/shared/kafka/records.ts'
import { sampleLabel, samplePrediction } from '../../support/events.ts'
import { HOUR, modelConfig } from '../detectors/synthetic.ts'

// When the monitor's rounds run, on a fake clock: the pipeline with ClickHouse, the codec and the
// window store replaced by stand-ins that record what is computed and when.

const T0 = Date.UTC(2026, 10, 2, 0, 0, 0)
const ROUND_DELAY = 1_000
const REFRESH = 10_000

function setUp() {
  const model = buildRuntimeModel(modelConfig({ model_id: 'churn', windows: ['1h'] }), null)
  const computations: { at: number; starts: number[] }[] = []
  const windows = {
    async recompute(_model: unknown, _size: number, starts: number[]): Promise<ComputedWindows> {
      computations.push({ at: Date.now(), starts: [...starts].sort((a, b) => a - b) })
      return { summaries: [], features: [], versions: new Map(), deferred: [], featuresReused: [], closedStarts: [], blocked: [], rereads: 0 }
    },
    rowsOf: () => undefined,
  } as unknown as WindowStore
  const ch = {
    table: (n: string) => n,
    insert: async () => undefined,
    insertRowBinary: async () => undefined,
    query: async () => [],
    ping: async () => true,
  } as unknown as ClickHouse
  const decode = async (value: Buffer | null) => ({ event: JSON.parse(String(value)) as unknown })
  const codec = { decodePrediction: decode, decodeLabel: decode } as unknown as EventCodec
  const producer: RecordProducer = { send: async () => undefined, close: async () => undefined }
  const topics = { predictions: 'predictions', labels: 'labels', deadLetter: 'dead', triggers: 'triggers', retrainRequests: 'retrain' }
  const pipeline = new MonitorPipeline({
    ch,
    codec,
    producer,
    topics,
    models: new Map([['churn', model]]),
    windows,
    metrics: createMonitorMetrics(new Registry()),
    logger: pino({ level: 'silent' }),
    settings: defaultMonitorSettings({ roundDelayMs: ROUND_DELAY, refreshMs: REFRESH, idleCloseMs: 0, stepMs: 0 }),
  })
  let offset = 0
  const record = (topic: string, event: PredictionEvent | LabelEvent): ConsumedRecord => ({
    topic,
    partition: 0,
    offset: String(offset++),
    key: null,
    value: Buffer.from(JSON.stringify(event)),
    timestamp: Date.now(),
    headers: {},
  })
  const prediction = (id: string, eventTime: number) =>
    record('predictions', samplePrediction({ prediction_id: id, model_id: 'churn', model_version: 'v1', event_time: eventTime, segments: {} }))
  const label = (id: string) => record('labels', sampleLabel({ prediction_id: id, model_id: 'churn', label_time: Date.now() }))
  return { pipeline, computations, prediction, label }
}

describe('monitor rounds', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] })
    vi.setSystemTime(T0)
  })
  afterEach(() => vi.useRealTimers())

  it('brings every marked window up to date one round delay after the last batch, even one marked after the round was set', async () => {
    const { pipeline, computations, prediction, label } = setUp()
    const w1 = T0 - 5 * HOUR
    const w2 = T0 - 4 * HOUR
    // Both windows computed once: their refresh interval runs from here.
    const first = await pipeline.handleBatch([prediction('a', w1 + 60_000), prediction('b', w2 + 60_000)])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    await first.settled
    computations.length = 0

    // A label for each window, the second batch 900 ms after the first: the round the first one
    // set runs while the monitor is still busy, when neither window is due by its refresh interval.
    await vi.advanceTimersByTimeAsync(2_000)
    const a = await pipeline.handleBatch([label('a')])
    await vi.advanceTimersByTimeAsync(900)
    const b = await pipeline.handleBatch([label('b')])
    const lastBatchAt = Date.now()
    let settled = false
    void Promise.all([a.settled, b.settled]).then(() => (settled = true))

    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 50)
    expect(settled).toBe(true)
    const computed = computations.flatMap((c) => c.starts.map((start) => ({ start, at: c.at })))
    expect(computed.map((c) => c.start).sort((x, y) => x - y)).toEqual([w1, w2])
    for (const c of computed) expect(c.at - lastBatchAt).toBeLessThanOrEqual(ROUND_DELAY + 50)
  })

  it('while batches keep coming, a window not due waits for its refresh interval', async () => {
    const { pipeline, computations, prediction, label } = setUp()
    const w1 = T0 - 5 * HOUR
    const first = await pipeline.handleBatch([prediction('a', w1 + 60_000)])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    await first.settled
    const computedAt = computations[0]!.at
    computations.length = 0

    // A label, then a batch every 500 ms (never idle): the window waits until its refresh is due.
    const marked = await pipeline.handleBatch([label('a')])
    for (let t = 0; t < 12_000; t += 500) {
      await pipeline.handleBatch([])
      await vi.advanceTimersByTimeAsync(500)
    }
    await marked.settled
    expect(computations.map((c) => c.starts)).toEqual([[w1]])
    expect(computations[0]!.at - computedAt).toBeGreaterThanOrEqual(REFRESH)
    expect(computations[0]!.at - computedAt).toBeLessThan(REFRESH + ROUND_DELAY + 600)
  })
})
