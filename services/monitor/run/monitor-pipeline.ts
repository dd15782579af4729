import { RECORDS_PER_YIELD, yieldToEventLoop } from '../../shared/async/yield-to-event-loop.ts'
import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { DecodeError } from '../../shared/codec/decode-error.ts'
import { InfrastructureError, isInfrastructureError } from '../../shared/errors/infrastructure-error.ts'
import type { EventCodec } from '../../shared/codec/event-codec.ts'
import type { LabelEvent } from '../../shared/events/types.ts'
import { ALL_SEGMENTS, OVERFLOW_SEGMENT, type FeatureWindowStats } from '../../shared/records/window-metrics.ts'
import { capReason, sendDeadLetters, type DeadLetter } from '../../shared/kafka/dead-letter.ts'
import type { RecordProducer } from '../../shared/kafka/producer.ts'
import type { PartitionProgress } from '../../shared/kafka/batch-consumer.ts'
import type { ConsumedRecord } from '../../shared/kafka/records.ts'
import type { TopicNames } from '../../shared/kafka/topics.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import { LABEL_LAYOUT, PREDICTION_LAYOUT, labelRow } from '../core/ingest/event-rows.ts'
import { RowBinaryRowsWriter } from '../../shared/clickhouse/row-binary.ts'
import { BoundedMap } from '../../shared/collections/bounded-map.ts'
import { PredictionIndex, type IndexedPrediction } from '../core/ingest/prediction-index.ts'
import { validateLabel, validatePrediction } from '../core/ingest/validate-event.ts'
import type { MonitorMetrics } from './monitor-metrics.ts'
import type { MonitorSettings } from './monitor-settings.ts'
import type { RuntimeModel } from '../core/runtime-model.ts'
import type { ModelProgress, ModelWatermark } from '../store/model-watermark.ts'
import { closingWindowStart, deferrableKeys, HeldOpenWindows, planRound, recomputeChunks, windowCloseAt } from '../core/window-lifecycle.ts'
import { lastWindow, recordIdleCloses } from '../store/idle-closes.ts'
import { openWindowsEndedBy } from '../store/open-windows.ts'
import { findPredictions } from '../store/prediction-lookup.ts'
import { DirtyWindows, groupWindows, windowRefKey, windowStart, type WindowRef } from '../core/windows/window-math.ts'
import { WindowSchedule, type PendingWindow } from '../core/windows/window-schedule.ts'
import { coversRowsStoredAt, ownerPartition, ownerWorking } from '../core/windows/window-owner.ts'
import { confirmedIdle, looksIdle, readyThrough, stepOf, type StoredPartition } from '../core/windows/data-steps.ts'
import { mergeComputed, type ComputedWindows, type WindowStore } from '../store/window-store.ts'
import { FailingWindows } from '../core/windows/failing-windows.ts'
import { failingWindows, recordWindowFailures, recordWindowsRecovered } from '../store/window-failures.ts'

/** Empty windows closed per model and size in one idle check (a week of hourly windows). */
const MAX_EMPTY_WINDOWS = 168
/** How far back (server seconds) an owner reads the windows other instances asked it for; older
 *  requests are computed by those instances themselves (ownerDeadline). */
const REQUEST_LOOKBACK_S = 3_600
/** A partition read to its end with nothing new for this long holds no data-time step back. */
const STEP_IDLE_MS = 10_000

export interface PipelineDeps {
  ch: ClickHouse
  codec: EventCodec
  producer: RecordProducer
  topics: TopicNames
  models: Map<string, RuntimeModel>
  windows: WindowStore
  /** Progress of the predictions partitions (absent: windows close on the data alone). */
  watermark?: ModelWatermark
  metrics: MonitorMetrics
  logger: Logger
  /** Round delay, refresh intervals (windows longer than a day refresh every 1/1440 of their
   *  size at most) and the label join's memory. */
  settings: Pick<MonitorSettings, 'roundDelayMs' | 'refreshMs' | 'backlogRefreshMs' | 'ownerWaitMs' | 'indexPerPartition' | 'idleCloseMs' | 'stepMs'>
  /** Called with every recomputation (detectors hook in here), with the newest record time that
   *  was stored when it began. */
  onWindowsComputed?(model: RuntimeModel, computed: ComputedWindows, dataTime: number): Promise<void>
  /** Judges stored closed windows again from their stored numbers (recheck). */
  rejudge?(model: RuntimeModel, sizeMs: number, starts: number[], dataTime: number): Promise<void>
  /** The end offsets of the predictions and labels partitions now: with data-time steps, a
   *  partition counts as idle only once they show nothing beyond what was handled (absent: none is
   *  idle). */
  partitionEnds?(): Promise<{ topic: string; partition: number; end: bigint }[]>
  now?: () => number
}

interface Accepted<T> {
  event: T
  record: ConsumedRecord
}

/**
 * What the monitor does with one consumed batch, in the order that makes a crash at any
 * point safe: dead letters sent, raw rows inserted, touched windows recomputed from the stored
 * rows, and only then does the consumer loop commit the offsets.
 */
export class MonitorPipeline {
  readonly index: PredictionIndex
  private readonly schedule: WindowSchedule
  // Windows known to be closed already: no need to recompute them when later predictions
  // land in their closing range. Bounded; forgetting one costs one extra recomputation.
  private readonly knownClosed = new BoundedMap<string, true>(10_000)
  /** Windows of models another instance owns whose close this one has asked for. */
  private readonly closeAsked = new BoundedMap<string, true>(10_000)
  private readonly now: () => number
  // Records already dead-lettered, so that a batch retried after a ClickHouse failure does not
  // send them again (bounded; after a crash a replay may still send one twice: the headers carry
  // the source offset, which identifies it).
  private readonly deadLettered = new BoundedMap<string, true>(100_000)
  // Held open by a lagging predictions partition (core/window-lifecycle.ts); their own new rows
  // still mark them as usual.
  private readonly blocked = new HeldOpenWindows()

  constructor(private readonly deps: PipelineDeps) {
    this.index = new PredictionIndex(deps.settings.indexPerPartition)
    this.now = deps.now ?? Date.now
    this.startedAt = this.now()
    this.roundDelayMs = deps.settings.roundDelayMs
    this.backlogRefreshMs = deps.settings.backlogRefreshMs
    this.stepMs = deps.settings.stepMs
    const refresh = deps.settings.refreshMs
    this.schedule = new WindowSchedule((size) => (refresh === 0 ? 0 : Math.max(refresh, size / 1440)), this.now)
  }

  // Windows are recomputed in rounds, not per batch: a round takes every window marked since
  // the previous one that is due (window-schedule.ts), so a window touched by ten batches is
  // read back once. A batch's offsets are committed once every window it marked was recomputed
  // after its rows were stored (the consumer loop waits for `settled`).
  private rounds: Promise<void> = Promise.resolve()
  private roundTimer: { at: number; timer: NodeJS.Timeout } | null = null
  private closing = false
  /** settleNow was called: the next round computes every marked window, here. */
  private hurry = false
  /** When windows were last closed: held-open ones released (releaseBlocked) or closes computed. */
  private releasedAt = -Infinity
  private lastBatchAt = 0
  /** Per model, when its last prediction was stored (processing time; start-up until then). */
  private readonly lastPredictionAt = new Map<string, number>()
  /** Per model and window size, the idle cutoff (event time, a window boundary) already closed
   *  through: a quiet model is looked at again only once another window could have ended. */
  private readonly idleClosedThrough = new Map<string, number>()
  private readonly startedAt: number
  /** The last batch stopped short of the end of some partition: a backlog is being read. */
  private lastBatchBehind = false
  private batchesInFlight = 0
  /** Models with decoded predictions in a batch whose progress is not recorded yet, and how many
   *  such batches: not closed by processing time meanwhile. */
  private readonly inFlight = new Map<string, number>()
  /** Newest record time stored so far (what a computation may have read at most). */
  private stored = 0
  private readonly roundDelayMs: number
  private readonly backlogRefreshMs: number
  /** Data-time step (0: unstepped, computed as of whatever is stored). */
  private readonly stepMs: number
  /** The latest step computed (stepped mode). */
  private computedStep = -Infinity
  /** Per assigned partition of both topics: the newest record time stored and marked, whether
   *  the partition was read to its end, and when that was last noted (stepped mode). */
  private readonly storedThrough = new Map<string, StoredPartition>()
  /** Predictions partitions assigned to this instance: it computes the windows of the models
   *  whose owner partition is among them (window-owner.ts). */
  private predictionPartitions: Set<number> | null = null
  /** Windows of models another instance computes, taken from the schedule: resolved once a
   *  stored computation covers their marks, computed here after ownerDeadline. */
  private awaitingOwner: { entry: PendingWindow; takenAt: number }[] = []
  /** Windows whose computation failed for a reason of their own, retried with backoff. */
  private readonly failing = new FailingWindows()
  /** The failing windows recorded for the models this instance owns were read (retryFailedWindows). */
  private failuresLoaded = false

  /** The next round takes every marked window, as when stopping: a rebalance is under way, and
   *  what this instance has read should be committed before its partitions may move. */
  settleNow(): void {
    this.hurry = true
    this.requestRound(0)
  }

  /** Stopping: every marked window is due now, and a round that keeps failing gives up (its
   *  batches stay uncommitted and are replayed). */
  close(): void {
    this.closing = true
    this.requestRound(0)
  }

  /** `storedProgress`: the batch's progress counting only the records it stored (a dead-lettered
   *  record's timestamp is not how far its partition is done). */
  async handleBatch(records: ConsumedRecord[], progress: PartitionProgress[] = []): Promise<{ settled: Promise<void>; storedProgress: PartitionProgress[] }> {
    this.batchesInFlight++
    let touched: DirtyWindows
    let storedProgress: PartitionProgress[]
    try {
      ;({ touched, storedProgress } = await this.processBatch(records, progress))
    } finally {
      this.batchesInFlight--
      this.lastBatchAt = this.now()
    }
    this.lastBatchBehind = progress.some((p) => !p.caughtUp)
    // A window another instance computes that the records could only close is asked for once:
    // its owner closes it when it can (held-open windows, retryOpenWindows); asking with every
    // batch had the owner compute a closed day-long window every few seconds.
    const dirty = touched
      .drain()
      .map((d) => ({ ...d, elsewhere: !this.owns(d.ref.model_id) }))
      .filter((d) => !(d.elsewhere && d.closeCheck && this.closeAsked.has(windowRefKey(d.ref))))
    // Windows left to their owner wait for a computation that began after these rows were stored,
    // and the owner is asked for it (it may have no records of the window to mark it by).
    const leftToOwners = dirty.filter((d) => d.elsewhere)
    let storedAt = 0
    if (leftToOwners.length > 0) {
      storedAt = await this.deps.windows.serverSecond()
      await this.deps.windows.requestWindows(leftToOwners, storedAt)
      for (const d of leftToOwners) if (d.closeCheck) this.closeAsked.set(windowRefKey(d.ref), true)
    }
    // The batch does not wait for the close of another instance's window none of its records is
    // in: the owner was asked, and closes any window left open anyway (retryOpenWindows).
    const marks = dirty
      .filter((d) => !(d.elsewhere && d.closeCheck))
      .map(({ ref, urgent, step, closeCheck, elsewhere }) => this.schedule.mark(ref, urgent, step, elsewhere ? storedAt : 0, closeCheck))
    // Only once the batch's windows are marked: a step is computed once every partition is
    // stored past it, and then every record of the step must be in it. Dead-lettered records do
    // not count: one stamped in year 2200 would have the partition hold back no step again.
    if (this.stepMs > 0) {
      for (const p of storedProgress) {
        const key = partitionKey(p)
        const seen = this.storedThrough.get(key)
        const storedSome = p.maxTimestamp > -Infinity
        this.storedThrough.set(key, {
          max: Math.max(seen?.max ?? -Infinity, p.maxTimestamp),
          caughtUp: p.caughtUp,
          at: !storedSome && seen ? seen.at : this.now(),
          next: p.next === undefined || (seen?.next !== undefined && seen.next > p.next) ? seen?.next : p.next,
        })
      }
    }
    this.deps.metrics.windowsPending.set(this.pendingWindows())
    if (marks.length > 0 || this.stepMs > 0 || this.schedule.size() > 0) this.requestRound(this.closing ? 0 : this.roundDelayMs)
    return { settled: Promise.all(marks).then(() => undefined), storedProgress }
  }

  /** The data-time step a record stamped `timestamp` is computed in (0 when unstepped). */
  private stepOf(timestamp: number): number {
    return this.stepMs === 0 ? 0 : stepOf(timestamp, this.stepMs, this.computedStep)
  }

  /** The whole assignment after a (re)join, and which partitions have nothing to read. */
  partitionsAssigned(partitions: { topic: string; partition: number; idle: boolean; end?: bigint }[]): void {
    this.predictionPartitions = new Set(partitions.filter((p) => p.topic === this.deps.topics.predictions).map((p) => p.partition))
    this.failuresLoaded = false
    if (this.stepMs === 0) {
      // Other instances may ask this one for windows from now on (takeRequests).
      if (this.othersMayWait()) this.requestRound(this.roundDelayMs)
      return
    }
    const now = this.now()
    for (const p of partitions) {
      const key = partitionKey(p)
      const seen = this.storedThrough.get(key)
      this.storedThrough.set(key, {
        max: seen?.max ?? -Infinity,
        caughtUp: p.idle || (seen?.caughtUp ?? false),
        at: seen?.at ?? now,
        next: p.idle && p.end !== undefined ? p.end : seen?.next,
      })
    }
    this.requestRound(this.roundDelayMs)
  }

  /** Runs a round in `delayMs` unless one is due sooner. */
  private requestRound(delayMs: number): void {
    const at = this.now() + delayMs
    if (this.roundTimer && this.roundTimer.at <= at) return
    if (this.roundTimer) clearTimeout(this.roundTimer.timer)
    const timer = setTimeout(() => {
      this.roundTimer = null
      this.rounds = this.rounds.then(() => this.runRound())
    }, delayMs)
    this.roundTimer = { at, timer }
  }

  /** Recomputes the windows due now, retrying until it succeeds (ClickHouse down: commits wait). */
  private async runRound(): Promise<void> {
    if (this.stepMs > 0) return this.runSteps()
    await this.takeRequests()
    const released = await this.releaseBlocked()
    // Idle: no batch being stored (one slowed down by a busy ClickHouse is not idleness) and
    // none for a round delay. During a backlog the batches' offsets wait longer (the consumer
    // keeps fetching).
    const idle = this.batchesInFlight === 0 && this.now() - this.lastBatchAt >= this.roundDelayMs
    // Stopping or a rebalance (settleNow): every marked window, here and now.
    const settling = this.closing || this.hurry
    this.hurry = false
    const plan = planRound({ closing: settling, idle, behind: this.lastBatchBehind, backlogRefreshMs: this.backlogRefreshMs })
    const taken = this.schedule.take(plan.takeAll, plan.backlog ? this.backlogRefreshMs : 0)
    const due = this.skipClosed(taken.due, !plan.takeAll)
    const { nextDueAt } = taken
    const deferrable = deferrableKeys(due, plan, this.now(), this.backlogRefreshMs)
    // While a backlog is read, closes are gathered as releaseBlocked gathers held-open windows,
    // also those the watermark has already passed (an instance reading its partitions together).
    const gather = plan.backlog && !released && this.now() - this.releasedAt < this.backlogRefreshMs
    this.deps.metrics.windowsPending.set(this.pendingWindows() + due.length)
    if (nextDueAt !== null) this.requestRound(Math.max(0, nextDueAt - this.now()))
    // Not idle yet: the round a later batch asked for was folded into this earlier one, so the
    // one that brings every window up to date once batches stop is asked for here.
    if (!idle && this.batchesInFlight === 0 && this.schedule.size() > 0) this.requestRound(Math.max(0, this.lastBatchAt + this.roundDelayMs - this.now()))
    const computing = await this.leaveToOwners(due, settling)
    if (computing.length === 0) return
    await this.computeDue(computing, deferrable, Infinity, this.stored, gather)
  }

  /** Resolves, without computing them, the windows only marked as ones their batches' records
   *  could close that this instance has computed closed since (batches read during that
   *  computation mark them): the close is done, and none of those records is in them. Such a
   *  window that other records are in (late labels, say) is no longer urgent, as every urgent
   *  mark is one for the close: unless the round takes every window (`demote` false), it goes
   *  back to wait for its refresh interval. */
  private skipClosed(due: PendingWindow[], demote: boolean): PendingWindow[] {
    const refresh: PendingWindow[] = []
    const computing = due.filter((entry) => {
      if (!this.knownClosed.has(windowRefKey(entry.ref))) return true
      if (entry.closeCheck) entry.resolve()
      else if (demote && entry.urgent) refresh.push(entry)
      else return true
      return false
    })
    if (refresh.length > 0) {
      this.schedule.requeue(refresh)
      this.requestRound(this.roundDelayMs)
    }
    return computing
  }

  /**
   * Marks the windows other instances asked this one to compute (it owns their models), as if
   * its own records had touched them, and looks again a round delay later while some predictions
   * partition is read elsewhere. While this instance reads a backlog, a window asked for as one
   * that may close is held with the windows its own partitions hold open and closed with them
   * (releaseBlocked): the asker's partitions passing one close after another had this instance
   * close windows a few at a time, at nearly the cost of a day of them each.
   */
  private async takeRequests(): Promise<void> {
    if (this.closing || !this.othersMayWait()) return
    const owned = [...this.deps.models.keys()].filter((id) => this.owns(id))
    if (owned.length === 0) return
    this.requestRound(this.roundDelayMs)
    try {
      const requested = await this.deps.windows.requestedWindows(owned, REQUEST_LOOKBACK_S)
      const gather = this.lastBatchBehind && this.backlogRefreshMs > 0
      for (const { ref, urgent, closeCheck } of requested) {
        // Asked to close a window this instance has computed closed since: nothing to do, or, for
        // records of it, a refresh (as skipClosed; the asker does not wait for it).
        const closed = this.knownClosed.has(windowRefKey(ref))
        if (closeCheck && closed) continue
        const forClose = urgent && !closed
        const lateness = this.deps.models.get(ref.model_id)?.config.allowed_lateness
        if (gather && forClose && lateness !== undefined) this.blocked.hold(ref, windowCloseAt(ref.window_start, ref.window_size_ms, lateness))
        else void this.schedule.mark(ref, forClose).catch(() => undefined)
      }
    } catch (error) {
      // The instances that asked compute the windows themselves if this goes on (ownerDeadline).
      this.deps.logger.warn({ event: 'window_requests_failed', err: error }, 'could not read the windows other instances left to this one; retrying')
    }
  }

  /** Windows marked and not computed yet: in the schedule or waiting for their owner. */
  private pendingWindows(): number {
    return this.schedule.size() + this.awaitingOwner.length
  }

  /** Whether another instance may wait for this one's computations (leaveToOwners): some
   *  predictions partition is read elsewhere. */
  private othersMayWait(): boolean {
    const partitions = this.deps.watermark?.partitions ?? 0
    return this.stepMs === 0 && partitions > 0 && this.predictionPartitions !== null && this.predictionPartitions.size < partitions
  }

  /** Whether this instance computes the model's windows (window-owner.ts). Stepped mode, a
   *  monitor without partition progress and one not told its assignment compute all they mark. */
  owns(modelId: string): boolean {
    const partitions = this.deps.watermark?.partitions ?? 0
    if (this.stepMs > 0 || partitions === 0 || !this.predictionPartitions) return true
    return this.predictionPartitions.has(ownerPartition(modelId, partitions))
  }

  /**
   * Takes the due windows of models another instance owns out of the round: each waits until a
   * stored computation began after its marking batch's rows were stored (then its batches may
   * commit), and is computed here only if none does in time (ownerDeadline: the owner may not
   * have marked it), when `settling` (stopping, a rebalance), or once this instance owns it.
   * Returns the windows to compute now.
   */
  private async leaveToOwners(due: PendingWindow[], settling: boolean): Promise<PendingWindow[]> {
    const now = this.now()
    const computing: PendingWindow[] = []
    for (const entry of due) {
      if (settling || entry.storedAt === 0 || this.owns(entry.ref.model_id)) computing.push(entry)
      else this.awaitingOwner.push({ entry, takenAt: now })
    }
    if (this.awaitingOwner.length === 0) return computing
    const computedFrom = new Map<string, number>()
    let ownersJudged = new Map<string, number>()
    try {
      ownersJudged = await this.deps.windows.latestJudged([...new Set(this.awaitingOwner.map((w) => w.entry.ref.model_id))])
      // No window of a model can cover rows stored after its latest judged computation began.
      const coverable = this.awaitingOwner.filter((w) => coversRowsStoredAt(ownersJudged.get(w.entry.ref.model_id), w.entry.storedAt))
      for (const group of groupWindows(coverable.map((w) => w.entry.ref)).values()) {
        const { model_id, window_size_ms } = group[0]!
        const stored = await this.deps.windows.judgedFrom(
          model_id,
          window_size_ms,
          group.map((r) => r.window_start),
        )
        for (const [start, from] of stored) computedFrom.set(windowRefKey({ model_id, window_size_ms, window_start: start }), from)
      }
    } catch (error) {
      // Asked again next round; meanwhile the marks stay uncommitted.
      this.deps.logger.warn({ event: 'owner_check_failed', err: error }, 'could not read which windows other instances computed; retrying')
    }
    const waiting: { entry: PendingWindow; takenAt: number }[] = []
    let covered = 0
    for (const w of this.awaitingOwner) {
      if (coversRowsStoredAt(computedFrom.get(windowRefKey(w.entry.ref)), w.entry.storedAt)) {
        w.entry.resolve()
        covered++
      } else if (
        settling ||
        now >= this.ownerDeadline(w, ownerWorking(ownersJudged.get(w.entry.ref.model_id), w.entry.storedAt, this.backlogRefreshMs)) ||
        this.owns(w.entry.ref.model_id)
      )
        computing.push(w.entry)
      else waiting.push(w)
    }
    this.awaitingOwner = waiting
    this.deps.metrics.windowsCoveredElsewhere.inc(covered)
    if (waiting.length > 0) this.requestRound(this.roundDelayMs)
    return computing
  }

  /**
   * Until when a window left to its owner is waited for: the owner computes a window it marked
   * within its refresh interval (at once if it may close), within the backlog interval while a
   * backlog is read (it may hold even a closing window), and everything once its batches stop. So
   * this instance waits that long, or, once its own batches stopped, until `ownerWaitMs` after
   * that; `ownerWaitMs` is added to each for the owner's round. An owner `working` (ownerWorking)
   * may still be reading a backlog of its own when this instance is idle: it gets the backlog's
   * wait, so that two instances do not both compute what the slower one has not reached yet.
   */
  private ownerDeadline(w: { entry: PendingWindow; takenAt: number }, working: boolean): number {
    const { refreshMs, ownerWaitMs } = this.deps.settings
    if (this.lastBatchBehind || working) return w.takenAt + Math.max(refreshMs, this.backlogRefreshMs) + ownerWaitMs
    const idle = this.batchesInFlight === 0 && this.now() - this.lastBatchAt >= this.roundDelayMs
    if (idle) return Math.max(w.takenAt, this.lastBatchAt) + ownerWaitMs
    return w.takenAt + (w.entry.urgent ? 0 : refreshMs) + ownerWaitMs
  }

  /**
   * Stepped rounds: the marked steps every partition is stored past, one after the other, each
   * computed and judged as of its end; what is not ready waits for the partitions (checked again
   * after a round delay). Stopping computes what is ready; the rest stays uncommitted.
   */
  private async runSteps(): Promise<void> {
    await this.releaseBlocked()
    for (;;) {
      const next = this.schedule.takeStep(await this.stepsReadyThrough())
      if (!next) break
      // Marked without a record time (recheck, idle close, restart): as of the latest step, or of
      // everything stored before the first.
      const asOf = next.step === 0 ? this.computedStep : next.step
      if (Number.isFinite(asOf)) await this.computeDue(next.due, new Set(), asOf, asOf)
      else await this.computeDue(next.due, new Set(), Infinity, this.stored)
      if (next.step > this.computedStep) this.computedStep = next.step
    }
    this.deps.metrics.windowsPending.set(this.pendingWindows())
    if (this.schedule.size() === 0) return
    if (!this.closing) this.requestRound(this.roundDelayMs)
    else {
      const error = new Error('the monitor stopped before every partition was read past this data-time step')
      for (let rest = this.schedule.takeStep(Infinity); rest; rest = this.schedule.takeStep(Infinity)) for (const d of rest.due) d.reject(error)
    }
  }

  /** The data time every partition is stored through; partitions that look idle are asked about
   *  first (confirmedIdle), and those Kafka has more records of hold back after all. */
  private async stepsReadyThrough(): Promise<number> {
    const now = this.now()
    const strict = readyThrough(this.storedThrough.values(), now, Infinity)
    const loose = readyThrough(this.storedThrough.values(), now, STEP_IDLE_MS)
    if (loose <= strict) return strict
    let ends: Map<string, bigint>
    try {
      ends = new Map((await this.deps.partitionEnds?.())?.map((e) => [partitionKey(e), e.end]))
    } catch (error) {
      this.deps.logger.warn({ event: 'partition_ends_failed', err: error }, "could not read the partitions' end offsets; idle partitions hold steps back")
      return strict
    }
    for (const [key, p] of this.storedThrough)
      if (looksIdle(p, now, STEP_IDLE_MS) && !confirmedIdle(p, ends.get(key))) this.storedThrough.set(key, { ...p, caughtUp: false })
    return readyThrough(this.storedThrough.values(), now, STEP_IDLE_MS)
  }

  /** Computes taken windows as of `asOf`, retrying until it succeeds (ClickHouse down: commits wait). */
  private async computeDue(due: PendingWindow[], deferrable: Set<string>, asOf: number, dataTime: number, gather = false): Promise<void> {
    try {
      await this.retrying(
        async () => {
          const startedAt = this.now()
          const deferred = await this.recompute(
            due.map((d) => d.ref),
            deferrable,
            asOf,
            dataTime,
            gather,
          )
          this.schedule.requeue(due.filter((d) => deferred.has(windowRefKey(d.ref))))
          this.schedule.computed(
            due.filter((d) => !deferred.has(windowRefKey(d.ref))),
            startedAt,
          )
          this.deps.metrics.windowsPending.set(this.pendingWindows())
          this.deps.metrics.windowsHeldOpen.set(this.blocked.size)
        },
        (error, attempt) => {
          this.deps.metrics.roundFailures.inc()
          this.deps.logger.warn({ event: 'window_round_failed', err: error, windows: due.length, attempt }, 'window recomputation failed; retrying')
        },
      )
    } catch (error) {
      for (const d of due) d.reject(error)
    }
  }

  /** Runs `work` until it succeeds, waiting 0.25 s doubling up to 10 s between attempts; once
   *  stopping, gives up after the third attempt (throws its error). */
  private async retrying<T>(work: () => Promise<T>, failed: (error: unknown, attempt: number) => void): Promise<T> {
    let delay = 250
    for (let attempt = 1; ; attempt++) {
      try {
        return await work()
      } catch (error) {
        if (this.closing && attempt >= 3) throw error
        failed(error, attempt)
        await new Promise((r) => setTimeout(r, delay))
        delay = Math.min(10_000, delay * 2)
      }
    }
  }

  /** Marks the held-open windows the low watermark has now passed as due; while some are still
   *  held, checks again after a round delay. Returns whether any was released. */
  private async releaseBlocked(): Promise<boolean> {
    if (this.blocked.size === 0) return false
    let lows: Map<string, number>
    try {
      lows = await this.lows([...this.deps.models.keys()])
    } catch {
      lows = new Map() // ClickHouse unreachable: the round's own retries deal with it
    }
    const lowOf = (id: string): number => lows.get(id) ?? -Infinity
    // While a backlog is read the watermark passes one window after another, and a close costs
    // nearly as much for one window as for a day of them (each reads the model's labels): they
    // are released a recomputation's worth at a time, or once per backlog interval.
    const gather =
      this.lastBatchBehind && !this.closing && !this.hurry && this.now() - this.releasedAt < this.backlogRefreshMs && !this.blocked.fillRecompute(lowOf)
    // A window of another instance's model (computed here while waiting for its owner) is left to
    // the owner, whose retryOpenWindows finds it open.
    const released = gather ? [] : this.blocked.release(lowOf)
    if (released.length > 0) this.releasedAt = this.now()
    for (const ref of released) if (this.owns(ref.model_id)) void this.schedule.mark(ref, true)
    if (this.blocked.size > 0) this.requestRound(this.roundDelayMs)
    return released.length > 0
  }

  /**
   * Marks windows that are still open although the model's data is past their close time: those
   * held open by a lagging partition (also one read by another instance), and, after a restart,
   * those left open in ClickHouse. Resolves when they were recomputed (idempotent, safe anytime).
   * Only the models this instance owns; their owners do the same for the others.
   */
  async retryOpenWindows(): Promise<void> {
    const marks: Promise<void>[] = []
    for (const model of this.deps.models.values()) {
      if (!this.owns(model.config.model_id)) continue
      for (const size of model.config.windows) {
        for (const window_start of await openWindowsEndedBy(this.deps.ch, model.config.model_id, size, model.config.allowed_lateness, 'newest prediction')) {
          const ref = { model_id: model.config.model_id, window_size_ms: size, window_start }
          // Held open by a lagging partition: released by the watermark (releaseBlocked).
          if (!this.blocked.has(ref)) marks.push(this.schedule.mark(ref, true))
        }
      }
    }
    if (marks.length === 0) return
    this.requestRound(0)
    await Promise.all(marks)
  }

  /** Judges the model's stored closed windows again (their join health changed; their numbers did
   *  not, or their rows mark them for a computation anyway), between rounds so that no computation
   *  of them runs meanwhile; retried while ClickHouse fails. A failure of the model's own makes
   *  them failing windows (computeChunk): rounds wait for a recheck, so it must not retry forever.
   *  Only for a model this instance owns. */
  async recheck(modelId: string, sizeMs: number, starts: number[]): Promise<void> {
    const model = this.deps.models.get(modelId)
    const rejudge = this.deps.rejudge
    if (starts.length === 0 || !model || !rejudge || !this.owns(modelId)) return
    const dataTime = (): number => (this.stepMs > 0 && Number.isFinite(this.computedStep) ? this.computedStep : this.stored)
    const run = this.rounds.then(() =>
      this.retrying(
        () =>
          rejudge(model, sizeMs, starts, dataTime()).catch(async (error: unknown) => {
            if (isInfrastructureError(error)) throw error
            await this.windowsFailed(
              starts.map((window_start) => ({ model_id: modelId, window_size_ms: sizeMs, window_start })),
              error,
            )
          }),
        (error, attempt) =>
          this.deps.logger.warn({ event: 'window_rejudge_failed', err: error, windows: starts.length, attempt }, 'judging windows again failed; retrying'),
      ),
    )
    this.rounds = run.catch(() => undefined)
    await run
  }

  /**
   * Closes windows by processing time: once every predictions partition has been read to its end
   * (and stayed there), and a model has had no new prediction for `idleCloseMs`, its open windows
   * that ended (plus allowed_lateness) at least `idleCloseMs` ago close without a later prediction,
   * so the last window before an outage is judged. The close is recorded (idle-closes.ts), so every
   * later computation, a replay or another instance closes it the same way. Only the models this
   * instance owns.
   */
  async closeIdleWindows(): Promise<void> {
    const idleMs = this.deps.settings.idleCloseMs
    if (idleMs <= 0 || this.closing || !this.deps.watermark) return
    const now = this.now()
    const candidates = [...this.deps.models.values()].filter(
      (m) =>
        this.owns(m.config.model_id) &&
        !this.inFlight.has(m.config.model_id) &&
        now - (this.lastPredictionAt.get(m.config.model_id) ?? this.startedAt) >= idleMs,
    )
    if (candidates.length === 0) return
    // Every partition read to its end with nothing of the model for a while; other models may be live.
    const lows = await this.lows(candidates.map((m) => m.config.model_id))
    const quiet = candidates.filter((m) => lows.get(m.config.model_id) === Infinity && !this.inFlight.has(m.config.model_id))
    const marks: Promise<void>[] = []
    for (const model of quiet) {
      for (const size of model.config.windows) {
        const lateness = model.config.allowed_lateness
        const key = `${model.config.model_id}|${size}`
        const through = windowStart(now - idleMs - lateness, size)
        if (this.idleClosedThrough.get(key) === through) continue
        const open = await openWindowsEndedBy(this.deps.ch, model.config.model_id, size, lateness, now - idleMs)
        // The windows after the last one that had predictions are closed empty: a model that
        // stopped sending shows as volume 0 (at most a week of windows per run).
        const last = await lastWindow(this.deps.ch, model.config.model_id, size)
        const empty: number[] = []
        for (let s = (last?.start ?? Infinity) + size; windowCloseAt(s, size, lateness) <= now - idleMs && empty.length < MAX_EMPTY_WINDOWS; s += size)
          empty.push(s)
        const starts = [...open, ...empty]
        if (starts.length > 0) await recordIdleCloses(this.deps.ch, model.config.model_id, size, starts, now)
        // Recorded (or nothing to close): not looked at again before the next window could have
        // ended, unless a full batch of empty windows leaves more or windows still wait to be
        // computed (and stored as open).
        if (empty.length < MAX_EMPTY_WINDOWS && this.schedule.size() === 0) this.idleClosedThrough.set(key, through)
        if (starts.length === 0) continue
        this.deps.metrics.windowsIdleClosed.inc({ model_id: model.config.model_id }, starts.length)
        for (const window_start of starts) marks.push(this.schedule.mark({ model_id: model.config.model_id, window_size_ms: size, window_start }, true))
      }
    }
    if (marks.length === 0) return
    this.requestRound(0)
    await Promise.all(marks)
  }

  /**
   * Decodes, validates and encodes the batch in one pass: each accepted prediction is written to
   * its insert's bytes, indexed and marked as soon as it is decoded, so neither the event nor its
   * row outlives its record and the garbage collector has no batch of them to copy.
   */
  private async processBatch(
    records: ConsumedRecord[],
    progress: PartitionProgress[],
  ): Promise<{ touched: DirtyWindows; storedProgress: PartitionProgress[] }> {
    const { topics, metrics } = this.deps
    const started = process.hrtime.bigint()
    const ingestedAt = this.now()
    const deadLetters: DeadLetter[] = []
    const labels: Accepted<LabelEvent>[] = []
    const predictionRows = new RowBinaryRowsWriter(PREDICTION_LAYOUT, Math.max(1 << 12, records.length * 256))
    const labelRows = new RowBinaryRowsWriter(LABEL_LAYOUT)
    const progressOf = new ModelProgressOf()
    // Windows this batch touches are handed to the next round only after its rows are stored
    // (handleBatch): a round that ran between marking and inserting would compute them without them.
    const touched = new DirtyWindows()
    const marks = new PredictionMarks()
    // Per topic, per partition, the newest timestamp of the records this batch stores: the data
    // time of a dead-lettered record (a year-2200 one, say) must not become the as_of of windows,
    // the data_time of triggers, or how far its partition is stored.
    const newestStored: Record<'predictions' | 'labels', number[]> = { predictions: [], labels: [] }
    const noteStored = (topic: 'predictions' | 'labels', record: ConsumedRecord): void => {
      newestStored[topic][record.partition] = Math.max(newestStored[topic][record.partition] ?? -Infinity, record.timestamp)
    }

    for (let i = 0; i < records.length; i++) {
      if (i > 0 && i % RECORDS_PER_YIELD === 0) {
        await yieldToEventLoop()
        // A round may have closed windows meanwhile: mark the next prediction in full.
        marks.forget()
      }
      const record = records[i]!
      try {
        if (record.topic === topics.predictions) {
          const decoding = this.deps.codec.decodePredictionNow(record.value)
          const { event } = decoding instanceof Promise ? await decoding : decoding
          const model = this.deps.models.get(event.model_id)
          const rejection = validatePrediction(event, model, record.timestamp)
          if (rejection) {
            deadLetters.push({ record, step: 'validate', ...rejection })
            continue
          }
          predictionRows.add({ event, model: model!, record, ingestedAt })
          noteStored('predictions', record)
          progressOf.add(event.model_id, record.partition, event.event_time)
          this.index.add(record.partition, event.prediction_id, { model_id: event.model_id, model_version: event.model_version, event_time: event.event_time })
          const step = this.stepOf(record.timestamp)
          if (marks.isNew(model!, event.event_time, step)) this.markPrediction(model!, event.event_time, touched, step)
        } else {
          const decoding = this.deps.codec.decodeLabelNow(record.value)
          const { event } = decoding instanceof Promise ? await decoding : decoding
          const rejection = validateLabel(event, this.deps.models.get(event.model_id), record.timestamp)
          if (rejection) {
            deadLetters.push({ record, step: 'validate', ...rejection })
            continue
          }
          labelRows.add(labelRow(event, record, ingestedAt))
          noteStored('labels', record)
          labels.push({ event, record })
        }
      } catch (error) {
        // Anything but a DecodeError (registry unreachable) fails the batch: it is retried.
        if (!(error instanceof DecodeError))
          throw new InfrastructureError(`decoding needs the schema registry: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
        deadLetters.push({ record, step: 'decode', code: error.code, reason: error.message })
      }
    }
    const decoded = process.hrtime.bigint()
    const models = progressOf.models()
    for (const id of models) this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1)
    try {
      for (const modelId of models) {
        this.lastPredictionAt.set(modelId, ingestedAt)
        for (const size of this.deps.models.get(modelId)!.config.windows) this.idleClosedThrough.delete(`${modelId}|${size}`)
      }
      const predictionInserts = predictionRows.inserts()
      const labelInserts = labelRows.inserts()
      // Counted before the insert: a round running meanwhile may already read these rows.
      for (const time of [...newestStored.predictions, ...newestStored.labels]) if (time !== undefined) this.stored = Math.max(this.stored, time)
      // Dead letters are sent while the rows are inserted: both must be done before the commit,
      // neither before the other.
      await Promise.all([
        this.deadLetter(deadLetters),
        this.deps.ch.insertRowBinary('predictions', predictionInserts),
        this.deps.ch.insertRowBinary('labels', labelInserts),
      ])
      metrics.records.inc({ topic: topics.predictions, outcome: 'stored' }, predictionRows.rows())
      metrics.records.inc({ topic: topics.labels, outcome: 'stored' }, labelRows.rows())
      const inserted = process.hrtime.bigint()

      await this.joinLabels(labels, touched)
      const joined = process.hrtime.bigint()
      const storedProgress = progress.map((p) => ({
        ...p,
        maxTimestamp: newestStored[p.topic === topics.predictions ? 'predictions' : 'labels'][p.partition] ?? -Infinity,
      }))
      await this.deps.watermark?.record(storedProgress, progressOf.list())

      metrics.indexSize.set(this.index.size())
      const seconds = (a: bigint, b: bigint): number => Number(b - a) / 1e9
      metrics.batchSeconds.observe({ step: 'decode' }, seconds(started, decoded))
      metrics.batchSeconds.observe({ step: 'insert' }, seconds(decoded, inserted))
      metrics.batchSeconds.observe({ step: 'join' }, seconds(inserted, joined))
      return { touched, storedProgress }
    } finally {
      for (const id of models) {
        const n = (this.inFlight.get(id) ?? 1) - 1
        if (n > 0) this.inFlight.set(id, n)
        else this.inFlight.delete(id)
      }
    }
  }

  /** Each model's low watermark in event time (Infinity for all without a watermark). */
  private async lows(modelIds: string[]): Promise<Map<string, number>> {
    return this.deps.watermark ? this.deps.watermark.lows(modelIds) : new Map(modelIds.map((id) => [id, Infinity]))
  }

  /** Sends the letters not sent before (a batch retried after a failure has sent some already). */
  private async deadLetter(letters: DeadLetter[]): Promise<void> {
    const { metrics } = this.deps
    const fresh = letters.filter((l) => !this.deadLettered.has(`${l.record.topic}:${l.record.partition}:${l.record.offset}`))
    if (fresh.length === 0) return
    const { unsent } = await sendDeadLetters(this.deps.producer, this.deps.topics.deadLetter, fresh, this.now())
    for (const { letter, error } of unsent) {
      metrics.deadLettersUnsent.inc({ code: letter.code })
      this.deps.logger.error(
        {
          event: 'dead_letter_unsent',
          code: letter.code,
          reason: capReason(letter.reason),
          error: capReason(error),
          topic: letter.record.topic,
          partition: letter.record.partition,
          offset: letter.record.offset,
        },
        'the dead-letter topic refused a rejected record; it is skipped',
      )
    }
    for (const letter of fresh) {
      this.deadLettered.set(`${letter.record.topic}:${letter.record.partition}:${letter.record.offset}`, true)
      metrics.deadLetters.inc({ code: letter.code })
      metrics.records.inc({ topic: letter.record.topic, outcome: 'dead_letter' })
      this.deps.logger.warn(
        {
          event: 'dead_letter',
          code: letter.code,
          reason: capReason(letter.reason),
          topic: letter.record.topic,
          partition: letter.record.partition,
          offset: letter.record.offset,
        },
        'record rejected',
      )
    }
  }

  /**
   * Whether a failed batch may be failing because of its records, so the consumer loop looks for
   * the record (isolate-failure.ts): not when the error says a dependency failed, nor while
   * ClickHouse does not answer a ping (an outage must never dead-letter good records).
   */
  async mayBeRecords(error: unknown): Promise<boolean> {
    if (isInfrastructureError(error)) return false
    return this.deps.ch.ping().catch(() => false)
  }

  /** Dead-letters a record found to make its batch fail on its own (see mayBeRecords). */
  async rejectRecord(record: ConsumedRecord, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error)
    await this.deadLetter([
      { record, step: 'process', code: 'processing_failed', reason: `storing or joining this record failed while ClickHouse answered: ${message}` },
    ])
  }

  /** A revoked partition's join state is dropped; ClickHouse is the durable side of the join. */
  partitionsRevoked(partitions: { topic: string; partition: number }[]): void {
    for (const p of partitions) {
      if (p.topic === this.deps.topics.predictions) {
        this.index.dropPartition(p.partition)
        this.predictionPartitions?.delete(p.partition)
      }
      this.storedThrough.delete(partitionKey(p))
    }
  }

  private markPrediction(model: RuntimeModel, eventTime: number, touched: DirtyWindows, step: number): void {
    const sizes = model.config.windows
    touched.mark(model.config.model_id, sizes, eventTime, step)
    for (const size of sizes) {
      const ref = { model_id: model.config.model_id, window_size_ms: size, window_start: closingWindowStart(eventTime, size, model.config.allowed_lateness) }
      if (!this.knownClosed.has(windowRefKey(ref)) && !this.blocked.has(ref)) touched.add(ref, true, step, true)
    }
  }

  private async joinLabels(labels: Accepted<LabelEvent>[], touched: DirtyWindows): Promise<void> {
    const { metrics } = this.deps
    const missing = new Map<string, Accepted<LabelEvent>[]>()
    let inMemory = 0
    for (const accepted of labels) {
      const { event, record } = accepted
      const hit = this.index.get(record.partition, event.prediction_id)
      if (hit) {
        inMemory++
        this.markLabel(hit, event, touched, this.stepOf(record.timestamp))
      } else {
        const list = missing.get(event.model_id) ?? []
        list.push(accepted)
        missing.set(event.model_id, list)
      }
    }
    // Counted once per batch: a labelled counter's inc hashes its labels every time.
    metrics.labelsJoined.inc({ source: 'memory' }, inMemory)
    // Older predictions: looked up in ClickHouse per model, only as far back as the label
    // horizon of these labels (an older prediction's label would not be counted, see markLabel).
    for (const [modelId, list] of missing) {
      // (Labels of models not configured went to the dead-letter topic: this one is configured.)
      const horizon = this.deps.models.get(modelId)!.config.label_horizon
      const earliestLabel = list.reduce((min, l) => Math.min(min, l.event.label_time), Infinity)
      const byId = await findPredictions(this.deps.ch, modelId, new Set(list.map((l) => l.event.prediction_id)), earliestLabel - horizon)
      let found = 0
      for (const { event, record } of list) {
        const prediction = byId.get(event.prediction_id)
        if (prediction) {
          found++
          this.markLabel(prediction, event, touched, this.stepOf(record.timestamp))
        }
      }
      metrics.labelsJoined.inc({ source: 'clickhouse' }, found)
      // The others are stored already; when their prediction arrives its window is recomputed
      // and joins them.
      metrics.labelsEarly.inc(list.length - found)
    }
  }

  private markLabel(prediction: IndexedPrediction, label: LabelEvent, touched: DirtyWindows, step: number): void {
    const model = this.deps.models.get(prediction.model_id)
    if (!model) return
    const delay = label.label_time - prediction.event_time
    this.deps.metrics.labelLag.observe(Math.max(0, delay) / 1000)
    if (Math.abs(delay) > model.config.label_horizon) return
    touched.mark(prediction.model_id, model.config.windows, prediction.event_time, step)
  }

  /** Per segment attribute, the predictions of the latest computed window past max_segment_values. */
  private setSegmentOverflow(model: RuntimeModel, computed: ComputedWindows): void {
    const latest = computed.summaries.reduce((max, s) => Math.max(max, s.key.window_start), -Infinity)
    for (const attribute of model.config.segments) {
      const segment = `${attribute}=${OVERFLOW_SEGMENT}`
      const events = computed.summaries.filter((s) => s.key.window_start === latest && s.key.segment === segment).reduce((n, s) => n + s.volume, 0)
      this.deps.metrics.segmentOverflow.set({ model_id: model.config.model_id, attribute }, events)
    }
  }

  /** Recomputes the windows; returns the keys of those deferred (held open, not computed; only
   *  those in `deferrable` may be). `gather`: those of this instance's models that the watermark
   *  lets close are held too, closed with the others releaseBlocked releases. */
  private async recompute(refs: WindowRef[], deferrable: Set<string>, asOf: number, dataTime: number, gather = false): Promise<Set<string>> {
    const deferred = new Set<string>()
    if (refs.length === 0) return deferred
    const started = process.hrtime.bigint()
    // Before any read: every row stored before this second is in the numbers written.
    const computedFrom = this.othersMayWait() ? await this.deps.windows.serverSecond() : null
    const lows = await this.lows([...new Set(refs.map((r) => r.model_id))])
    if (gather)
      refs = refs.filter((ref) => {
        const closeAt = windowCloseAt(ref.window_start, ref.window_size_ms, this.deps.models.get(ref.model_id)!.config.allowed_lateness)
        if (!deferrable.has(windowRefKey(ref)) || !this.owns(ref.model_id) || closeAt > (lows.get(ref.model_id) ?? -Infinity)) return true
        this.blocked.hold(ref, closeAt)
        deferred.add(windowRefKey(ref))
        return false
      })
    if (deferred.size > 0) this.requestRound(this.roundDelayMs)
    let detecting = 0n
    // Judged once per model and size after all its chunks are stored: a window's history then
    // holds every window recomputed with it, and only the final alert state is published.
    const toJudge = new Map<string, { model: RuntimeModel; sizeMs: number; parts: ComputedWindows[]; refs: WindowRef[] }>()
    for (const group of recomputeChunks(refs, (ref) => this.deps.windows.rowsOf(ref))) {
      const model = this.deps.models.get(group[0]!.model_id)!
      const sizeMs = group[0]!.window_size_ms
      const chunkStarted = process.hrtime.bigint()
      const { computed, failed } = await this.computeChunk(model, sizeMs, group, {
        lowWatermark: lows.get(model.config.model_id) ?? -Infinity,
        deferrable: new Set(group.filter((r) => deferrable.has(windowRefKey(r))).map((r) => r.window_start)),
        asOf,
        dataTime,
      })
      for (const start of computed.deferred) deferred.add(windowRefKey({ model_id: model.config.model_id, window_size_ms: sizeMs, window_start: start }))
      this.deps.metrics.windowsRecomputed.inc(group.length - computed.deferred.length - failed.length)
      this.deps.logger.debug(
        {
          event: 'windows_recomputed',
          model_id: model.config.model_id,
          window_size_ms: sizeMs,
          starts: group.map((r) => r.window_start),
          deferred: computed.deferred.length,
          closed: computed.closedStarts.length,
          features_reused: computed.featuresReused.length,
          features_merged: computed.featuresMerged.length,
          seconds: Number(process.hrtime.bigint() - chunkStarted) / 1e9,
        },
        'windows recomputed',
      )
      this.deps.metrics.windowRereads.inc(computed.rereads)
      for (const start of computed.closedStarts) {
        const key = windowRefKey({ model_id: model.config.model_id, window_size_ms: sizeMs, window_start: start })
        if (!this.knownClosed.has(key)) this.releasedAt = this.now()
        this.knownClosed.set(key, true)
      }
      const newest = new Map<string, FeatureWindowStats>()
      for (const f of computed.features) {
        if (f.categorical && f.key.segment === ALL_SEGMENTS && (newest.get(f.feature)?.key.window_start ?? -Infinity) <= f.key.window_start)
          newest.set(f.feature, f)
      }
      for (const [feature, f] of newest) this.deps.metrics.categoryOverflow.set({ model_id: model.config.model_id, feature }, f.categorical!.overflow_values)
      this.setSegmentOverflow(model, computed)
      const judged = toJudge.get(`${model.config.model_id}|${sizeMs}`) ?? { model, sizeMs, parts: [], refs: [] }
      judged.parts.push(computed)
      const left = new Set([...computed.deferred, ...failed.map((r) => r.window_start)])
      judged.refs.push(...group.filter((r) => !left.has(r.window_start)))
      toJudge.set(`${model.config.model_id}|${sizeMs}`, judged)
      // Held open by a partition not read far enough: recomputed once the watermark passes its
      // close time. The batches that marked it are covered by this computation, or, when it was
      // deferred, wait for that one (runRound puts it back in the schedule).
      const stillBlocked = new Set(computed.blocked.map((b) => b.start))
      for (const ref of group) if (!stillBlocked.has(ref.window_start)) this.blocked.forget(ref)
      for (const { start, closeAt } of computed.blocked)
        this.blocked.hold({ model_id: model.config.model_id, window_size_ms: sizeMs, window_start: start }, closeAt)
      if (computed.blocked.length > 0) this.requestRound(this.roundDelayMs)
    }
    const detectStarted = process.hrtime.bigint()
    for (const { model, sizeMs, parts, refs } of toJudge.values()) {
      const merged = mergeComputed(parts)
      try {
        await this.deps.onWindowsComputed?.(model, merged, dataTime)
      } catch (error) {
        if (isInfrastructureError(error)) throw error
        await this.windowsFailed(refs, error)
        continue
      }
      // Other instances waiting for these windows (leaveToOwners) may now commit.
      if (computedFrom !== null && merged.versions.size > 0)
        await this.deps.windows.recordJudged(model.config.model_id, sizeMs, [...merged.versions.keys()], computedFrom)
      const recovered = refs.filter((r) => this.failing.recovered(r))
      if (recovered.length > 0) {
        await recordWindowsRecovered(this.deps.ch, recovered, this.now())
        this.deps.logger.info(
          { event: 'window_recovered', model_id: model.config.model_id, window_size_ms: sizeMs, starts: recovered.map((r) => r.window_start) },
          'failing windows were computed',
        )
        this.setFailingGauge()
      }
    }
    detecting += process.hrtime.bigint() - detectStarted
    this.deps.metrics.batchSeconds.observe({ step: 'aggregate' }, Number(process.hrtime.bigint() - started - detecting) / 1e9)
    this.deps.metrics.batchSeconds.observe({ step: 'detect' }, Number(detecting) / 1e9)
    return deferred
  }

  /**
   * Computes a chunk of one model's windows of one size. When it fails for a reason of the
   * model's own (not ClickHouse's availability, which fails the round and is retried), the
   * windows are computed one by one and those that fail alone are recorded as failing and left
   * out: one model's failure holds up neither the other models nor any commit.
   */
  private async computeChunk(
    model: RuntimeModel,
    sizeMs: number,
    group: WindowRef[],
    options: { lowWatermark: number; deferrable: Set<number>; asOf: number; dataTime: number },
  ): Promise<{ computed: ComputedWindows; failed: WindowRef[] }> {
    const compute = (refs: WindowRef[]): Promise<ComputedWindows> =>
      this.deps.windows.recompute(
        model,
        sizeMs,
        refs.map((r) => r.window_start),
        options,
      )
    try {
      return { computed: await compute(group), failed: [] }
    } catch (error) {
      if (isInfrastructureError(error)) throw error
      if (group.length === 1) {
        await this.windowsFailed(group, error)
        return { computed: mergeComputed([]), failed: group }
      }
    }
    const parts: ComputedWindows[] = []
    const failed: WindowRef[] = []
    for (const ref of group) {
      try {
        parts.push(await compute([ref]))
      } catch (error) {
        if (isInfrastructureError(error)) throw error
        await this.windowsFailed([ref], error)
        failed.push(ref)
      }
    }
    return { computed: mergeComputed(parts), failed }
  }

  /** Records windows of one model as failing (a ClickHouse outage meanwhile fails the round). */
  private async windowsFailed(refs: WindowRef[], error: unknown): Promise<void> {
    if (refs.length === 0) return
    const now = this.now()
    const { model_id, window_size_ms } = refs[0]!
    await recordWindowFailures(this.deps.ch, refs, now, error instanceof Error ? `${error.name}: ${error.message}` : String(error))
    for (const ref of refs) this.failing.failed(ref, now)
    this.deps.metrics.windowFailures.inc({ model_id }, refs.length)
    this.setFailingGauge()
    this.deps.logger.error(
      { event: 'window_failed', model_id, window_size_ms, starts: refs.map((r) => r.window_start), err: error },
      'computing windows failed for a reason of the model; the other models go on, these are retried with backoff',
    )
  }

  private setFailingGauge(): void {
    const counts = this.failing.countsByModel()
    for (const id of this.deps.models.keys()) this.deps.metrics.windowsFailing.set({ model_id: id }, counts.get(id) ?? 0)
  }

  /**
   * Marks the failing windows whose retry is due; first, after start-up or a new assignment, reads
   * those recorded for the models this instance owns (a previous run's or instance's). They are
   * computed with the next round; a failure again only postpones them.
   */
  async retryFailedWindows(): Promise<void> {
    if (this.closing) return
    if (!this.failuresLoaded) {
      const owned = [...this.deps.models.keys()].filter((id) => this.owns(id))
      for (const ref of await failingWindows(this.deps.ch, owned)) this.failing.known(ref)
      this.failuresLoaded = true
      this.setFailingGauge()
    }
    const due = this.failing.takeDue(this.now())
    for (const ref of due) void this.schedule.mark(ref, true).catch(() => undefined)
    if (due.length > 0) this.requestRound(0)
  }
}

const partitionKey = (p: { topic: string; partition: number }): string => `${p.topic}\u0000${p.partition}`

/**
 * Whether a prediction marks other windows than the one before it: consecutive predictions are
 * mostly of one model and hour, and marking the same windows again changes nothing.
 */
class PredictionMarks {
  private model: RuntimeModel | null = null
  private step = 0
  private starts: number[] = []

  isNew(model: RuntimeModel, eventTime: number, step: number): boolean {
    const { windows, allowed_lateness } = model.config
    let same = model === this.model && step === this.step
    for (let i = 0; i < windows.length && same; i++)
      same =
        this.starts[2 * i] === windowStart(eventTime, windows[i]!) && this.starts[2 * i + 1] === closingWindowStart(eventTime, windows[i]!, allowed_lateness)
    if (same) return false
    this.model = model
    this.step = step
    this.starts = windows.flatMap((size) => [windowStart(eventTime, size), closingWindowStart(eventTime, size, allowed_lateness)])
    return true
  }

  forget(): void {
    this.model = null
  }
}

/** The newest event time of each model's predictions per partition in a batch. */
class ModelProgressOf {
  private readonly newest = new Map<string, ModelProgress>()

  add(modelId: string, partition: number, eventTime: number): void {
    const key = `${modelId}\u0000${partition}`
    const seen = this.newest.get(key)
    if (!seen) this.newest.set(key, { model_id: modelId, partition, maxEventTime: eventTime })
    else if (eventTime > seen.maxEventTime) seen.maxEventTime = eventTime
  }

  list(): ModelProgress[] {
    return [...this.newest.values()]
  }

  models(): string[] {
    return [...new Set([...this.newest.values()].map((p) => p.model_id))]
  }
}
