import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { buildRuntimeModel } from '../../../services/monitor/core/runtime-model.ts'
import { createMonitorMetrics } from '../../../services/monitor/run/monitor-metrics.ts'
import { MonitorPipeline } from '../../../services/monitor/run/monitor-pipeline.ts'
import { defaultMonitorSettings } from '../../../services/monitor/run/monitor-settings.ts'
import type { ComputedWindows, WindowRequest, WindowStore } from '../../../services/monitor/store/window-store.ts'
import type { ModelWatermark } from '../../../services/monitor/store/model-watermark.ts'
import type { RuntimeModel } from '../../../services/monitor/core/runtime-model.ts'
import { ownerPartition } from '../../../services/monitor/core/windows/window-owner.ts'
import type { WindowRef } from '../../../services/monitor/core/windows/window-math.ts'
import type { ClickHouse } from '../../../services/shared/clickhouse/client.ts'
import type { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import type { LabelEvent, PredictionEvent } from '../../../services/shared/events/types.ts'
import type { RecordProducer } from '../../../services/shared/kafka/producer.ts'
import type { ConsumedRecord } from '../../../services/shared/kafka/records.ts'
import type { PartitionProgress } from '../../../services/shared/kafka/batch-consumer.ts'
import { sampleLabel, samplePrediction } from '../../support/events.ts'
import { HOUR, modelConfig } from '../detectors/synthetic.ts'

// When the monitor's rounds run, on a fake clock: the pipeline with ClickHouse, the codec and the
// window store replaced by stand-ins that record what is computed and when.

const T0 = Date.UTC(2026, 10, 2, 0, 0, 0)
const ROUND_DELAY = 1_000
const REFRESH = 10_000
const OWNER_WAIT = 5_000
const BACKLOG_REFRESH = 60_000
/** modelConfig's allowed_lateness. */
const LATENESS = 10 * 60_000

/** Owner checks of a pipeline sharing its predictions topic (two partitions) with another
 *  instance: what it asks the owner for, and what the owner was asked for (`asked`). */
interface OwnerChecks {
  requests: { starts: number[]; at: number }[]
  asked: WindowRequest[]
  /** When the owner last began a judged computation of the model (server seconds). */
  ownerJudgedAt?: number
  /** Per window start, when the owner's judged computation of it began; and the windows asked about. */
  judged?: Map<number, number>
  judgedAsked?: number[][]
}

/** What the stand-in store's computations take (fake clock) and which windows they find closed. */
interface Computing {
  ms: number
  closable: Set<number>
}

/** What the stand-in store's computations throw for a model, while set (by the test). */
type Failures = Map<string, (starts: number[]) => Error | null>

/** `low`: the model's low watermark, set by the test; a window it has not reached is held open. */
/** `ends`: partition 0's end offset in Kafka, or the error reading it gives (set by the test). */
/** `failures`: computations of a model that throw; `storedFailing`: windows recorded as failing;
 *  `judged`: the models whose windows were judged, `misjudged` those whose judging throws. */
function setUp(
  shared?: OwnerChecks,
  o: {
    stepMs?: number
    low?: { value: number }
    ends?: { value: bigint | Error }
    failures?: Failures
    storedFailing?: WindowRef[]
    judged?: string[]
    misjudged?: Set<string>
  } = {},
) {
  const model = buildRuntimeModel(modelConfig({ model_id: 'churn', windows: ['1h'] }), null)
  const other = buildRuntimeModel(modelConfig({ model_id: 'fraud', windows: ['1h'] }), null)
  const computations: { at: number; model: string; starts: number[]; asOf?: number; predictionsStored: number; closed: number[] }[] = []
  const inserted: { table: string; rows: Record<string, unknown>[] }[] = []
  let predictionsStored = 0
  const computing: Computing = { ms: 0, closable: new Set() }
  const closeAt = (start: number): number => start + HOUR + LATENESS
  /** What the pipeline told the watermark of its partitions' progress. */
  const recorded: PartitionProgress[] = []
  const windows = {
    async recompute(computed: RuntimeModel, _size: number, starts: number[], options?: { asOf?: number; lowWatermark?: number }): Promise<ComputedWindows> {
      const failure = o.failures?.get(computed.config.model_id)?.(starts)
      if (failure) throw failure
      const low = options?.lowWatermark ?? -Infinity
      const held = o.low ? starts.filter((s) => closeAt(s) > low) : []
      const closedStarts = o.low ? starts.filter((s) => closeAt(s) <= low) : starts.filter((s) => computing.closable.has(s))
      computations.push({
        at: Date.now(),
        model: computed.config.model_id,
        starts: [...starts].sort((a, b) => a - b),
        asOf: options?.asOf,
        predictionsStored,
        closed: closedStarts,
      })
      if (computing.ms > 0) await new Promise((r) => setTimeout(r, computing.ms))
      const blocked = held.map((start) => ({ start, closeAt: closeAt(start) }))
      return { summaries: [], features: [], versions: new Map(), deferred: [], featuresReused: [], featuresMerged: [], closedStarts, blocked, rereads: 0 }
    },
    rowsOf: () => undefined,
    serverSecond: async () => Math.floor(Date.now() / 1000),
    requestWindows: async (requests: { ref: WindowRef }[]) => void shared?.requests.push({ starts: requests.map((r) => r.ref.window_start), at: Date.now() }),
    requestedWindows: async () => shared?.asked.splice(0) ?? [],
    judgedFrom: async (_model: string, _size: number, starts: number[]) => {
      shared?.judgedAsked?.push(starts)
      return new Map(starts.flatMap((start) => (shared?.judged?.has(start) ? [[start, shared.judged.get(start)!]] : [])))
    },
    latestJudged: async () => new Map(shared?.ownerJudgedAt === undefined ? [] : [['churn', shared.ownerJudgedAt]]),
    recordJudged: async () => undefined,
  } as unknown as WindowStore
  const ch = {
    table: (n: string) => n,
    insert: async (table: string, rows: Record<string, unknown>[]) => void inserted.push({ table, rows }),
    insertRowBinary: async (table: string, blocks: { rows: number }[]) =>
      void (table === 'predictions' && (predictionsStored += blocks.reduce((n, b) => n + b.rows, 0))),
    query: async (sql: string) => (sql.includes('window_failures') ? (o.storedFailing ?? []) : []),
    ping: async () => true,
  } as unknown as ClickHouse
  const decode = (value: Buffer | null) => ({ event: JSON.parse(String(value)) as unknown })
  const codec = { decodePredictionNow: decode, decodeLabelNow: decode } as unknown as EventCodec
  const producer: RecordProducer = { send: async () => undefined, close: async () => undefined }
  const topics = { predictions: 'predictions', labels: 'labels', deadLetter: 'dead', triggers: 'triggers', retrainRequests: 'retrain' }
  const pipeline = new MonitorPipeline({
    ch,
    codec,
    producer,
    topics,
    models: new Map([
      ['churn', model],
      ['fraud', other],
    ]),
    windows,
    metrics: createMonitorMetrics(new Registry()),
    logger: pino({ level: 'silent' }),
    onWindowsComputed: async (judged: RuntimeModel) => {
      if (o.misjudged?.has(judged.config.model_id)) throw new TypeError("Cannot read properties of undefined (reading 'psi')")
      o.judged?.push(judged.config.model_id)
    },
    rejudge: async (judged: RuntimeModel) => {
      if (o.misjudged?.has(judged.config.model_id)) throw new TypeError("Cannot read properties of undefined (reading 'psi')")
      o.judged?.push(judged.config.model_id)
    },
    settings: defaultMonitorSettings({
      roundDelayMs: ROUND_DELAY,
      refreshMs: REFRESH,
      backlogRefreshMs: BACKLOG_REFRESH,
      idleCloseMs: 0,
      stepMs: o.stepMs ?? 0,
      ownerWaitMs: OWNER_WAIT,
    }),
    ...(shared || o.low
      ? {
          watermark: {
            partitions: shared ? 2 : 1,
            record: async (progress: PartitionProgress[]) => void recorded.push(...progress),
            lows: async (ids: string[]) => new Map(o.low ? ids.map((id) => [id, o.low!.value]) : []),
          } as unknown as ModelWatermark,
        }
      : {}),
    ...(o.ends
      ? {
          partitionEnds: async () => {
            const end = o.ends!.value
            if (end instanceof Error) throw end
            return [{ topic: 'predictions', partition: 0, end }]
          },
        }
      : {}),
  })
  let offset = 0
  const record = (topic: string, event: PredictionEvent | LabelEvent, at: { partition?: number; timestamp?: number } = {}): ConsumedRecord => ({
    topic,
    partition: at.partition ?? 0,
    offset: String(offset++),
    key: null,
    value: Buffer.from(JSON.stringify(event)),
    timestamp: at.timestamp ?? Date.now(),
    headers: {},
  })
  const prediction = (id: string, eventTime: number, modelId = 'churn') =>
    record('predictions', samplePrediction({ prediction_id: id, model_id: modelId, model_version: 'v1', event_time: eventTime, segments: {} }))
  const label = (id: string) => record('labels', sampleLabel({ prediction_id: id, model_id: 'churn', label_time: Date.now() }))
  return { pipeline, computations, computing, prediction, label, record, recorded, inserted }
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

  it.each([
    // Batch i has a prediction that may close window i; the watermark is not there yet (held
    // open) and has passed the close of window i - 1.
    ['held open by a lagging partition', 0],
    // An instance reading all of a model's partitions together: batch i also takes the watermark
    // past the close of window i.
    ['the watermark has already passed when a batch marks them', HOUR],
  ])('while a backlog is read, windows %s are closed a day of them at a time, and the rest at once when it is read', async (_, ahead) => {
    const low = { value: -Infinity }
    const { pipeline, computations, prediction } = setUp(undefined, { low })
    const start = T0 - 40 * HOUR
    const window = (i: number): number => start + i * HOUR
    const behind = [{ topic: 'predictions', partition: 0, maxTimestamp: 0, caughtUp: false }]
    for (let i = 0; i < 30; i++) {
      low.value = window(i) + ahead + LATENESS
      await pipeline.handleBatch([prediction(`p${i}`, window(i + 1) + LATENESS + 60_000)], behind)
      await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    }
    const closings = (): number[][] => computations.map((c) => c.closed).filter((closed) => closed.length > 0)
    // Window 0 at once (nothing closed before), then 1 to 24 together once they make a day;
    // 25 to 29 wait.
    expect(closings()).toEqual([[window(0)], Array.from({ length: 24 }, (_, k) => window(k + 1))])
    computations.length = 0
    // The backlog is read: what the watermark passed is closed in the next round.
    low.value = window(30) + LATENESS
    await pipeline.handleBatch([], [{ ...behind[0]!, caughtUp: true }])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(closings()).toEqual([Array.from({ length: 5 }, (_, k) => window(k + 25))])
  })

  it('while the owner reads a backlog, the windows another instance asks it to close are closed a day of them at a time', async () => {
    const checks: OwnerChecks = { requests: [], asked: [] }
    const low = { value: -Infinity }
    const { pipeline, computations } = setUp(checks, { low })
    const owned = ownerPartition('churn', 2)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: owned, idle: false }])
    const start = T0 - 40 * HOUR
    const window = (i: number): number => start + i * HOUR
    const behind = [{ topic: 'predictions', partition: owned, maxTimestamp: 0, caughtUp: false }]
    // Each round the other instance's records pass the close of one more window and it asks for it.
    for (let i = 0; i < 30; i++) {
      low.value = window(i) + HOUR + LATENESS
      checks.asked.push({ ref: { model_id: 'churn', window_size_ms: HOUR, window_start: window(i) }, urgent: true, closeCheck: true })
      await pipeline.handleBatch([], behind)
      await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    }
    const closings = (): number[][] => computations.map((c) => c.closed).filter((closed) => closed.length > 0)
    expect(closings()).toEqual([[window(0)], Array.from({ length: 24 }, (_, k) => window(k + 1))])
    computations.length = 0
    await pipeline.handleBatch([], [{ ...behind[0]!, caughtUp: true }])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(closings()).toEqual([Array.from({ length: 5 }, (_, k) => window(k + 25))])
  })

  it('settleNow (a rebalance begins): the next round computes every marked window, due or not', async () => {
    const { pipeline, computations, prediction, label } = setUp()
    const w1 = T0 - 5 * HOUR
    const first = await pipeline.handleBatch([prediction('a', w1 + 60_000)])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    await first.settled
    computations.length = 0

    // Batches keep coming, so the label's window would wait for its refresh interval.
    const marked = await pipeline.handleBatch([label('a')])
    let settled = false
    void marked.settled.then(() => (settled = true))
    await pipeline.handleBatch([])
    await vi.advanceTimersByTimeAsync(500)
    await pipeline.handleBatch([])
    expect(computations).toEqual([])
    const asked = Date.now()
    pipeline.settleNow()
    await vi.advanceTimersByTimeAsync(10)
    expect(settled).toBe(true)
    expect(computations.map((c) => c.starts)).toEqual([[w1]])
    expect(computations[0]!.at - asked).toBeLessThan(10)
    // Only that round: later windows wait for their refresh interval again.
    await pipeline.handleBatch([label('a')])
    await vi.advanceTimersByTimeAsync(500)
    await pipeline.handleBatch([])
    await vi.advanceTimersByTimeAsync(500)
    expect(computations).toHaveLength(1)
  })

  /** Window w1 being closed by a computation of 3 s, begun a round delay after its batch. */
  async function closingW1() {
    const run = setUp()
    const w1 = T0 - 5 * HOUR
    const w2 = w1 + HOUR
    run.computing.ms = 3_000
    run.computing.closable.add(w1)
    // b lies in w1's closing range (past the ten minutes of allowed lateness): w1 is computed at once.
    const first = await run.pipeline.handleBatch([run.prediction('a', w1 + 60_000), run.prediction('b', w2 + 20 * 60_000)])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    return { ...run, w1, w2, first, closedAt: run.computations.find((c) => c.starts.includes(w1))!.at }
  }

  it('a window closed by a computation is not computed again for the batches read meanwhile that could only close it', async () => {
    const { pipeline, computations, prediction, label, w1, w2, first } = await closingW1()
    // Read while that computation runs: c could close w1 too, and is in w2.
    const during = await pipeline.handleBatch([prediction('c', w2 + 25 * 60_000)])
    await vi.advanceTimersByTimeAsync(3_000 + ROUND_DELAY * 3)
    await Promise.all([first.settled, during.settled])
    const computed = (start: number) => computations.filter((c) => c.starts.includes(start)).length
    expect(computed(w1)).toBe(1)
    expect(computed(w2)).toBe(2)
    // A label of a prediction in w1 is new data of it: computed again.
    const labeled = await pipeline.handleBatch([label('a')])
    await vi.advanceTimersByTimeAsync(3_000 + ROUND_DELAY * 3)
    await labeled.settled
    expect(computed(w1)).toBe(2)
  })

  it('a window closed by a computation waits for its refresh interval for a late record read meanwhile in a batch that could also close it', async () => {
    const { pipeline, computations, prediction, w1, w2, first, closedAt } = await closingW1()
    // Read while w1 is being closed: c could close it, d is a late prediction in it.
    const during = await pipeline.handleBatch([prediction('c', w2 + 25 * 60_000), prediction('d', w1 + 30 * 60_000)])
    // Batches keep coming (never idle): w1 is computed again once its refresh is due, ten times
    // its last computation after it began, not in the next round.
    const computedAt = (start: number) => computations.filter((c) => c.starts.includes(start)).map((c) => c.at - closedAt)
    for (let t = 0; t < 40_000; t += 500) {
      await pipeline.handleBatch([])
      await vi.advanceTimersByTimeAsync(500)
    }
    await Promise.all([first.settled, during.settled])
    const again = computedAt(w1)
    expect(again).toHaveLength(2)
    expect(again[1]).toBeGreaterThanOrEqual(10 * 3_000)
    expect(again[1]).toBeLessThan(10 * 3_000 + ROUND_DELAY + 3_000 + 600)
  })

  it("an instance not owning the model asks the owner for the windows its records touch, and computes one itself only once the owner's wait is over", async () => {
    const checks: OwnerChecks = { requests: [], asked: [] }
    const { pipeline, computations, prediction } = setUp(checks)
    const mine = 1 - ownerPartition('churn', 2)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: mine, idle: false }])
    const w1 = T0 - 5 * HOUR
    const batch = await pipeline.handleBatch([prediction('a', w1 + 60_000)])
    let settled = false
    void batch.settled.then(() => (settled = true))
    // Its own window, and the one whose closing range it lies in (one hour back, past the ten
    // minutes of allowed lateness).
    const closing = Math.floor((w1 + 60_000 - HOUR - 10 * 60_000) / HOUR) * HOUR
    expect(checks.requests).toEqual([{ starts: [w1, closing], at: T0 }])
    // The owner never computes w1 (judgedFrom finds nothing): waited for, then computed here. The
    // close of the window before holds none of the records: left to the owner, not waited for.
    await vi.advanceTimersByTimeAsync(OWNER_WAIT - 100)
    expect(computations).toEqual([])
    expect(settled).toBe(false)
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 200)
    expect(computations.flatMap((c) => c.starts)).toEqual([w1])
    expect(settled).toBe(true)
    await vi.advanceTimersByTimeAsync(OWNER_WAIT * 4)
    expect(computations.flatMap((c) => c.starts)).toEqual([w1])
  })

  it('an instance not owning the model asks for the close of a window once, and for its own windows with every batch', async () => {
    const checks: OwnerChecks = { requests: [], asked: [] }
    const { pipeline, prediction } = setUp(checks)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: 1 - ownerPartition('churn', 2), idle: false }])
    const w1 = T0 - 5 * HOUR
    const closing = Math.floor((w1 + 60_000 - HOUR - 10 * 60_000) / HOUR) * HOUR
    await pipeline.handleBatch([prediction('a', w1 + 60_000)])
    await pipeline.handleBatch([prediction('b', w1 + 120_000)])
    expect(checks.requests.map((r) => r.starts)).toEqual([[w1, closing], [w1]])
  })

  it('the owner computes the windows other instances asked it for, without records of its own', async () => {
    const checks: OwnerChecks = { requests: [], asked: [] }
    const { pipeline, computations } = setUp(checks)
    const owned = ownerPartition('churn', 2)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: owned, idle: false }])
    const w1 = T0 - 5 * HOUR
    await vi.advanceTimersByTimeAsync(ROUND_DELAY * 3)
    expect(computations).toEqual([])
    checks.asked.push({ ref: { model_id: 'churn', window_size_ms: HOUR, window_start: w1 }, urgent: false, closeCheck: false })
    // Read at the next round; computed the round after (the owner is idle: everything marked is due).
    await vi.advanceTimersByTimeAsync(ROUND_DELAY * 2 + 100)
    expect(computations.map((c) => c.starts)).toEqual([[w1]])
    expect(checks.requests).toEqual([])
  })

  it.each([
    ['only its close: not computed again', true, 1],
    ['records of it: computed again', false, 2],
  ])('a window the owner computed closed, asked for by another instance for %s', async (_, closeCheck, times) => {
    const checks: OwnerChecks = { requests: [], asked: [] }
    const { pipeline, computations, computing, prediction } = setUp(checks)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: ownerPartition('churn', 2), idle: false }])
    const w1 = T0 - 5 * HOUR
    computing.closable.add(w1)
    const first = await pipeline.handleBatch([prediction('a', w1 + 60_000), prediction('b', w1 + HOUR + 20 * 60_000)], [])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    await first.settled
    expect(computations.filter((c) => c.closed.includes(w1))).toHaveLength(1)
    checks.asked.push({ ref: { model_id: 'churn', window_size_ms: HOUR, window_start: w1 }, urgent: true, closeCheck })
    await vi.advanceTimersByTimeAsync(ROUND_DELAY * 3)
    expect(computations.filter((c) => c.starts.includes(w1))).toHaveLength(times)
  })

  it('a window the owner computed closed, asked for by another instance for records of it while a backlog is read, waits for its refresh interval', async () => {
    const checks: OwnerChecks = { requests: [], asked: [] }
    const { pipeline, computations, computing, prediction } = setUp(checks)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: ownerPartition('churn', 2), idle: false }])
    const w1 = T0 - 5 * HOUR
    computing.ms = 1_000
    computing.closable.add(w1)
    const first = await pipeline.handleBatch([prediction('a', w1 + 60_000), prediction('b', w1 + HOUR + 20 * 60_000)], [])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    const closedAt = computations.find((c) => c.closed.includes(w1))!.at
    await vi.advanceTimersByTimeAsync(1_000)
    await first.settled
    checks.asked.push({ ref: { model_id: 'churn', window_size_ms: HOUR, window_start: w1 }, urgent: true, closeCheck: false })
    const behind = [{ topic: 'predictions', partition: 0, maxTimestamp: 0, caughtUp: false }]
    for (let t = 0; t < BACKLOG_REFRESH + 10_000; t += 500) {
      await pipeline.handleBatch([], behind)
      await vi.advanceTimersByTimeAsync(500)
    }
    const again = computations.filter((c) => c.starts.includes(w1)).map((c) => c.at - closedAt)
    expect(again).toHaveLength(2)
    expect(again[1]).toBeGreaterThanOrEqual(BACKLOG_REFRESH)
  })

  it('an owner busy with other windows of the model is given the backlog wait, not the idle one', async () => {
    const checks: OwnerChecks = { requests: [], asked: [], ownerJudgedAt: Math.floor(T0 / 1000) }
    const { pipeline, computations, prediction } = setUp(checks)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: 1 - ownerPartition('churn', 2), idle: false }])
    const w1 = T0 - 5 * HOUR
    await pipeline.handleBatch([prediction('a', w1 + 60_000)])
    const takenAt = T0 + ROUND_DELAY
    await vi.advanceTimersByTimeAsync(OWNER_WAIT + ROUND_DELAY * 3)
    expect(computations).toEqual([])
    await vi.advanceTimersByTimeAsync(takenAt + BACKLOG_REFRESH + OWNER_WAIT - Date.now() - 100)
    expect(computations).toEqual([])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 200)
    expect(computations.flatMap((c) => c.starts)).toEqual([w1])
  })

  it("an instance waiting for the owner asks which windows it judged only once the owner's latest judged computation began after the rows were stored", async () => {
    const second = Math.floor(T0 / 1000)
    const checks: OwnerChecks = { requests: [], asked: [], ownerJudgedAt: second - 1, judged: new Map(), judgedAsked: [] }
    const { pipeline, computations, prediction } = setUp(checks)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: 1 - ownerPartition('churn', 2), idle: false }])
    const w1 = T0 - 5 * HOUR
    const batch = await pipeline.handleBatch([prediction('a', w1 + 60_000)])
    let settled = false
    void batch.settled.then(() => (settled = true))
    // The rows were stored in second `second` (serverSecond); the owner's latest judged
    // computation began before: nothing of the model can cover them, nothing is asked.
    await vi.advanceTimersByTimeAsync(ROUND_DELAY * 4)
    expect(checks.judgedAsked).toEqual([])
    // The owner judges w1 in a computation begun after them: asked once, and the batch settles.
    checks.ownerJudgedAt = second + 1
    checks.judged!.set(w1, second + 1)
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(checks.judgedAsked).toEqual([[w1]])
    expect(settled).toBe(true)
    expect(computations).toEqual([])
  })

  it('an owner whose latest judged computation began shortly before these rows were stored (a long round under way) is given the backlog wait', async () => {
    const checks: OwnerChecks = { requests: [], asked: [], ownerJudgedAt: Math.floor(T0 / 1000) - 20 }
    const { pipeline, computations, prediction } = setUp(checks)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: 1 - ownerPartition('churn', 2), idle: false }])
    const w1 = T0 - 5 * HOUR
    await pipeline.handleBatch([prediction('a', w1 + 60_000)])
    await vi.advanceTimersByTimeAsync(BACKLOG_REFRESH)
    expect(computations).toEqual([])
    await vi.advanceTimersByTimeAsync(OWNER_WAIT + ROUND_DELAY * 2)
    expect(computations.flatMap((c) => c.starts)).toEqual([w1])
  })

  it('an owner that judged nothing for longer than a backlog interval before these rows were stored is given the idle wait', async () => {
    const checks: OwnerChecks = { requests: [], asked: [], ownerJudgedAt: Math.floor(T0 / 1000) - BACKLOG_REFRESH / 1000 - 1 }
    const { pipeline, computations, prediction } = setUp(checks)
    pipeline.partitionsAssigned([{ topic: 'predictions', partition: 1 - ownerPartition('churn', 2), idle: false }])
    const w1 = T0 - 5 * HOUR
    await pipeline.handleBatch([prediction('a', w1 + 60_000)])
    await vi.advanceTimersByTimeAsync(OWNER_WAIT - 100)
    expect(computations).toEqual([])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 200)
    expect(computations.flatMap((c) => c.starts)).toEqual([w1])
  })

  it('with data-time steps, a dead-lettered record stamped in year 2200 neither lets a step be computed before its records are stored nor counts as done', async () => {
    const SECOND = 1_000
    const before = (s: number): number => T0 - s * SECOND
    // Partition 1 runs ahead of partition 0; steps of a minute.
    const plan: { partition: number; predictions: [id: string, secondsBefore: number][] }[] = [
      { partition: 0, predictions: [['a', 570]] },
      {
        partition: 1,
        predictions: [
          ['b1', 270],
          ['b2', 120],
        ],
      },
      { partition: 0, predictions: [['c', 390]] },
      { partition: 0, predictions: [['d', 60]] },
    ]
    // Also how far the first batch says its partition is done (what the policy waits for).
    const doneThrough: number[] = []
    const run = async (withHostile: boolean): Promise<{ asOf?: number; predictionsStored: number }[]> => {
      const { pipeline, computations, record } = setUp(undefined, { stepMs: 60 * SECOND })
      const prediction = (id: string, s: number, partition: number, modelId = 'churn'): ConsumedRecord =>
        record('predictions', samplePrediction({ prediction_id: id, model_id: modelId, model_version: 'v1', event_time: before(s), segments: {} }), {
          partition,
          timestamp: before(s),
        })
      // Of a model nobody configured: a dead letter.
      const hostile = { ...prediction('x', 0, 0, 'nobody'), timestamp: Date.UTC(2200, 0, 1) }
      for (const [i, { partition, predictions }] of plan.entries()) {
        const records = [...predictions.map(([id, s]) => prediction(id, s, partition)), ...(withHostile && i === 0 ? [hostile] : [])]
        const maxTimestamp = Math.max(...records.map((r) => r.timestamp))
        const { storedProgress } = await pipeline.handleBatch(records, [{ topic: 'predictions', partition, maxTimestamp, caughtUp: false }])
        if (i === 0) doneThrough.push(storedProgress[0]!.maxTimestamp)
        await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
      }
      await vi.advanceTimersByTimeAsync(3 * ROUND_DELAY)
      return computations.map(({ asOf, predictionsStored }) => ({ asOf, predictionsStored }))
    }
    // Predictions are stored in the plan's order: a computation that saw n of them saw these.
    const inOrder = plan.flatMap((b) => b.predictions)
    const missing = (c: { asOf?: number; predictionsStored: number }): string[] => {
      const stored = new Set(inOrder.slice(0, c.predictionsStored).map(([id]) => id))
      return inOrder.filter(([id, s]) => before(s) <= c.asOf! && !stored.has(id)).map(([id]) => id)
    }
    const clean = await run(false)
    const hostile = await run(true)
    for (const c of [...clean, ...hostile]) expect(missing(c), `as of ${c.asOf}`).toEqual([])
    expect(clean.length).toBeGreaterThan(1)
    expect(hostile).toEqual(clean)
    expect(doneThrough).toEqual([before(570), before(570)])
  })

  it('with data-time steps, a partition that looks idle holds its step back until Kafka shows nothing beyond what was stored', async () => {
    const ends = { value: 2n as bigint | Error }
    const { pipeline, computations, record } = setUp(undefined, { stepMs: 60_000, ends })
    const at = T0 - 90_000
    const batch = async (id: string, t: number): Promise<void> => {
      const r = record('predictions', samplePrediction({ prediction_id: id, model_id: 'churn', model_version: 'v1', event_time: t, segments: {} }), {
        timestamp: t,
      })
      await pipeline.handleBatch([r], [{ topic: 'predictions', partition: 0, maxTimestamp: t, caughtUp: true, next: BigInt(r.offset) + 1n }])
    }
    // Offset 0 stored; offset 1, of the same step, is in Kafka (its batch not stored yet, say
    // ClickHouse is down): the partition looks idle after 10 s, and is not.
    await batch('a', at)
    await vi.advanceTimersByTimeAsync(30_000)
    expect(computations).toEqual([])
    // Offset 1 stored; Kafka does not answer: nothing is taken for idle.
    await batch('b', at + 10_000)
    ends.value = new Error('Kafka unreachable')
    await vi.advanceTimersByTimeAsync(30_000)
    expect(computations).toEqual([])
    ends.value = 2n
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(computations.map(({ asOf, predictionsStored }) => ({ asOf, predictionsStored }))).toEqual([{ asOf: T0 - 60_000, predictionsStored: 2 }])
  })

  it('a dead-lettered record stamped in year 2200 is not how far its partition was read (partition_progress)', async () => {
    const { pipeline, record, recorded } = setUp(undefined, { low: { value: -Infinity } })
    const at = T0 - 60_000
    const valid = record('predictions', samplePrediction({ prediction_id: 'a', model_id: 'churn', model_version: 'v1', event_time: at, segments: {} }), {
      timestamp: at,
    })
    const year2200 = Date.UTC(2200, 0, 1)
    const hostile = record('predictions', samplePrediction({ prediction_id: 'x', model_id: 'nobody', model_version: 'v1', event_time: at, segments: {} }), {
      timestamp: year2200,
    })
    await pipeline.handleBatch([valid, hostile], [{ topic: 'predictions', partition: 0, maxTimestamp: year2200, caughtUp: true }])
    expect(recorded.map((p) => p.maxTimestamp)).toEqual([at])
  })
})

describe("a model's windows that fail for a reason of their own", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] })
    vi.setSystemTime(T0)
  })
  afterEach(() => vi.useRealTimers())

  /** What ClickHouse answers a query it refuses (not an overload or outage). */
  const refused = (): Error => Object.assign(new Error('Max query size exceeded'), { code: '62', type: 'SYNTAX_ERROR' })
  const failureRows = (inserted: { table: string; rows: Record<string, unknown>[] }[]) =>
    inserted
      .filter((i) => i.table === 'window_failures')
      .flatMap((i) => i.rows.map((r) => ({ model_id: r.model_id, window_start: r.window_start, failing: r.failing })))

  it('hold up neither another model nor the commit, are recorded, and are computed again a minute later', async () => {
    const broken = new Set<number>()
    const failures: Failures = new Map([['fraud', (starts) => (starts.some((s) => broken.has(s)) ? refused() : null)]])
    const { pipeline, computations, prediction, inserted } = setUp(undefined, { failures })
    const w1 = T0 - 5 * HOUR
    const w2 = T0 - 4 * HOUR
    broken.add(w1)
    // fraud's w1 fails, in a chunk with its w2 and churn's w1.
    const batch = await pipeline.handleBatch([prediction('a', w1 + 60_000), prediction('b', w1 + 60_000, 'fraud'), prediction('c', w2 + 60_000, 'fraud')])
    let settled = false
    void batch.settled.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(settled).toBe(true)
    const computed = (model: string): number[] => computations.filter((c) => c.model === model).flatMap((c) => c.starts)
    // Each prediction also marks the window two before its own, which it may close.
    expect(computed('churn')).toEqual([w1 - 2 * HOUR, w1])
    // Narrowed down: fraud's other windows computed one by one, w1 left out.
    expect(computed('fraud')).toEqual([w1 - 2 * HOUR, w1 - HOUR, w2])
    expect(failureRows(inserted)).toEqual([{ model_id: 'fraud', window_start: w1, failing: 1 }])
    const failedAt = Date.now()

    // Not retried before its minute is up; then computed, and recorded recovered.
    broken.clear()
    computations.length = 0
    await vi.advanceTimersByTimeAsync(30_000)
    await pipeline.retryFailedWindows()
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(computations).toEqual([])
    await vi.advanceTimersByTimeAsync(failedAt + 60_000 - Date.now())
    await pipeline.retryFailedWindows()
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(computations.map((c) => [c.model, c.starts])).toEqual([['fraud', [w1]]])
    expect(failureRows(inserted).at(-1)).toEqual({ model_id: 'fraud', window_start: w1, failing: 0 })
  })

  it('retried while they keep failing, at doubling intervals', async () => {
    const failures: Failures = new Map([['fraud', () => refused()]])
    const { pipeline, prediction, inserted } = setUp(undefined, { failures })
    const w1 = T0 - 5 * HOUR
    await pipeline.handleBatch([prediction('b', w1 + 60_000, 'fraud')])
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    const attemptsAt: number[] = [Date.now()]
    // Looked at every 5 s (as the service does) for 8 minutes: failed again at 1, 2 and 4 minutes' wait.
    for (let t = 0; t < 8 * 60_000; t += 5_000) {
      const before = failureRows(inserted).length
      await pipeline.retryFailedWindows()
      await vi.advanceTimersByTimeAsync(5_000)
      if (failureRows(inserted).length > before) attemptsAt.push(Date.now())
    }
    const waits = attemptsAt.slice(1).map((at, i) => at - attemptsAt[i]!)
    expect(waits.map((w) => Math.round(w / 60_000))).toEqual([1, 2, 4])
    expect(failureRows(inserted).every((r) => r.failing === 1)).toBe(true)
  })

  it('a detector that throws on one model leaves it out and judges the others', async () => {
    const judged: string[] = []
    const { pipeline, prediction, inserted } = setUp(undefined, { judged, misjudged: new Set(['fraud']) })
    const w1 = T0 - 5 * HOUR
    const batch = await pipeline.handleBatch([prediction('a', w1 + 60_000), prediction('b', w1 + 60_000, 'fraud')])
    let settled = false
    void batch.settled.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(settled).toBe(true)
    expect(judged).toEqual(['churn'])
    expect(failureRows(inserted).map((r) => [r.model_id, r.window_start])).toEqual([
      ['fraud', w1 - 2 * HOUR],
      ['fraud', w1],
    ])
  })

  it('a detector that throws when stored windows are judged again does not stop the rounds', async () => {
    const judged: string[] = []
    const { pipeline, prediction, inserted } = setUp(undefined, { judged, misjudged: new Set(['fraud']) })
    const w1 = T0 - 5 * HOUR
    let rechecked = false
    void pipeline.recheck('fraud', HOUR, [w1]).then(() => (rechecked = true))
    await vi.advanceTimersByTimeAsync(100)
    expect(rechecked).toBe(true)
    expect(failureRows(inserted)).toEqual([{ model_id: 'fraud', window_start: w1, failing: 1 }])
    const batch = await pipeline.handleBatch([prediction('a', w1 + 60_000)])
    let settled = false
    void batch.settled.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(settled).toBe(true)
    expect(judged).toEqual(['churn'])
  })

  it('after a restart, the windows recorded as failing are computed again at once', async () => {
    const w1 = T0 - 5 * HOUR
    const { pipeline, computations } = setUp(undefined, { storedFailing: [{ model_id: 'fraud', window_size_ms: HOUR, window_start: w1 }] })
    await pipeline.retryFailedWindows()
    await vi.advanceTimersByTimeAsync(ROUND_DELAY + 100)
    expect(computations.map((c) => [c.model, c.starts])).toEqual([['fraud', [w1]]])
  })

  it('ClickHouse unavailable is no such failure: the commit waits until it is back', async () => {
    let down = true
    const failures: Failures = new Map([['fraud', () => (down ? Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) : null)]])
    const { pipeline, computations, prediction, inserted } = setUp(undefined, { failures })
    const w1 = T0 - 5 * HOUR
    const batch = await pipeline.handleBatch([prediction('a', w1 + 60_000), prediction('b', w1 + 60_000, 'fraud')])
    let settled = false
    void batch.settled.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(30_000)
    expect(settled).toBe(false)
    down = false
    await vi.advanceTimersByTimeAsync(11_000)
    expect(settled).toBe(true)
    expect(computations.some((c) => c.model === 'fraud' && c.starts.includes(w1))).toBe(true)
    expect(failureRows(inserted)).toEqual([])
  })
})
