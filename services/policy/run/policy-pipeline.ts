import { deferred } from '../../shared/async/deferred.ts'
import { randomUUID } from 'node:crypto'
import { DecodeError } from '../../shared/codec/decode-error.ts'
import type { EventCodec } from '../../shared/codec/event-codec.ts'
import type { MonitorTrigger } from '../../shared/events/types.ts'
import { sendDeadLetters, type DeadLetter } from '../../shared/kafka/dead-letter.ts'
import type { RecordProducer } from '../../shared/kafka/producer.ts'
import type { ConsumedRecord } from '../../shared/kafka/records.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import type { ContextLoader } from '../store/context-loader.ts'
import { decide, retrainCost, type DecisionResult } from '../core/decide.ts'
import type { ApprovalAction, Episode, InvestigationKind, InvestigationOutcome, PolicyHistory } from '../core/decision-context.ts'
import { EpisodeTracker, episodeOptions, toEpisode, type EpisodeState, type EpisodeTrackerOptions } from '../core/episode-tracker.ts'
import { NO_MONITOR, StepGate, stepEnd, triggerDataTime, type MonitorMark } from '../core/decision-steps.ts'
import { evaluateRetrain, hasNewerVersion, type RetrainOutcome } from '../core/retrain-outcome.ts'
import { checkTrigger } from '../core/trigger-shape.ts'
import { policyFingerprint, type PolicyConfig } from '../core/policy-config.ts'
import {
  triggerKey,
  type ApprovalRecord,
  type DecisionRow,
  type PendingApproval,
  type PolicyStore,
  type StoredDecision,
  type StoredRequest,
  type TriggerRecord,
} from '../store/policy-store.ts'
import type { RequestEmitter } from './request-emitter.ts'

export interface PolicyPipelineDeps {
  store: PolicyStore
  loader: ContextLoader
  emitter: RequestEmitter
  codec: EventCodec
  policies: Map<string, PolicyConfig>
  logger: Logger
  /** Where undecodable triggers go (original bytes plus the reason). */
  deadLetter?: { producer: RecordProducer; topic: string }
  now?: () => number
  /** Tests of crash recovery: while true, the pipeline acts like a dead process and does nothing. */
  halted?(): boolean
  /** How far the monitor is finished (default: nothing to wait for). */
  mark?: MonitorMark
  /** How often waiting triggers are checked against the monitor's progress (default 500 ms). */
  pollMs?: number
}

/** The latest stored decision of an episode. */
interface LatestDecision {
  decision_id: string
  answer: string
  /** The last step it was the answer in. */
  last: number
  row: DecisionRow
}

const answerKey = (decision: string, gate: string, code: string): string => `${decision}|${gate}|${code}`

/** A trigger waiting for its decision step. */
interface Waiting {
  key: string
  trigger: MonitorTrigger
  partition: number
  offset: string
  received_at: number
  /** End of its decision step (data time). */
  step: number
  done: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

export type InvestigationResult =
  { status: 'recorded'; decision: { decision_id: string; decision: string; explanation: string } | null } | { status: 'not_found'; message: string }

export type ApprovalResult = { status: 'approved'; request_id: string } | { status: 'rejected' } | { status: 'not_found' | 'not_pending'; message: string }

/** What one trigger led to, for logs and tests. */
export interface Handled {
  trigger: MonitorTrigger
  outcome: TriggerRecord['outcome'] | 'duplicate'
  decision?: string
  decision_id?: string
}

/**
 * The policy's work on a batch of triggers. State (episodes, requests, approvals, processed
 * triggers) lives in memory and in ClickHouse; memory is only trusted while it matches what was
 * written: when a write fails, the next attempt reloads it from ClickHouse first.
 */
export class PolicyPipeline {
  /** Episodes group alerts by onset (policy.episode_window) and scope (cold-start segments apart). */
  private readonly trackerOptions: EpisodeTrackerOptions
  private tracker: EpisodeTracker
  private processed = new Set<string>()
  private approvals: ApprovalAction[] = []
  private investigations: InvestigationOutcome[] = []
  /** How the retrains this service asked for turned out. */
  private outcomes: RetrainOutcome[] = []
  /** Per episode, its latest stored decision: the same answer again is counted on it. */
  private latest = new Map<string, LatestDecision>()
  private pending = new Map<string, PendingApproval>()
  private stale = true
  /** Serializes batches and approval actions: both change the same state. */
  private lock: Promise<unknown> = Promise.resolve()
  private readonly now: () => number
  private readonly mark: MonitorMark
  private readonly pollMs: number
  private readonly gate = new StepGate()
  /** Triggers waiting for their step, by trigger key. */
  private readonly waiting = new Map<string, Waiting>()
  /** Per triggers partition: the offset after the last trigger taken in. */
  private readonly consumed = new Map<number, bigint>()
  private lastSettled: Promise<void> = Promise.resolve()
  private advanceTimer: NodeJS.Timeout | null = null
  private closed = false
  private failingSince: number | null = null
  /** The latest outcomes (bounded), for logs and tests. */
  readonly handled: Handled[] = []

  constructor(private readonly deps: PolicyPipelineDeps) {
    this.now = deps.now ?? Date.now
    this.mark = deps.mark ?? NO_MONITOR
    this.pollMs = deps.pollMs ?? 500
    this.trackerOptions = episodeOptions(deps.policies)
    this.tracker = new EpisodeTracker([], this.trackerOptions)
  }

  private note(handled: Handled): void {
    this.handled.push(handled)
    if (this.handled.length > 1000) this.handled.splice(0, this.handled.length - 1000)
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work)
    this.lock = run.catch(() => undefined)
    return run
  }

  /** Loads state and sends what a previous run recorded but did not finish sending. */
  init(): Promise<void> {
    return this.serial(() => this.reload())
  }

  private async reload(): Promise<void> {
    const state = await this.deps.store.load()
    this.tracker = new EpisodeTracker(state.episodes, this.trackerOptions)
    this.processed = state.processed
    this.approvals = state.approvals
    this.investigations = state.investigations
    this.outcomes = state.retrainOutcomes
    this.latest = new Map(
      state.latestDecisions.map((row) => [
        String(row.episode_id),
        {
          decision_id: String(row.decision_id),
          answer: answerKey(String(row.decision), String(row.deciding_gate), String(row.deciding_code)),
          last: Math.max(Number(row.decided_at), Number(row.last_decided_at)),
          row,
        },
      ]),
    )
    this.pending = new Map(state.pending.map((p) => [p.decision_id, p]))
    this.deps.emitter.restore(state.requests)
    // An approval audited just before a crash, whose request was not recorded yet.
    for (const a of state.approvals) {
      const proposal = this.pending.get(a.decision_id)
      if (a.action === 'approve' && a.request_id && !this.deps.emitter.has(a.request_id) && proposal) {
        await this.recordRequest({ ...proposal.proposed, requested_at: a.at }, a.actor)
      }
    }
    this.stale = false
    await this.deps.emitter.emitPending()
  }

  /**
   * Takes a batch of triggers. Undecodable ones are dead-lettered and those of unknown models
   * recorded at once; the others wait for their decision step (decision-steps.ts). `settled`
   * resolves once every trigger of this batch and of the batches before it was decided and
   * stored: the consumer commits the offsets only then, so a crash replays what was not decided.
   */
  handleBatch(records: ConsumedRecord[]): Promise<{ settled: Promise<void> }> {
    return this.serial(async () => {
      if (this.deps.halted?.()) throw new Error('policy pipeline halted')
      try {
        if (this.stale) await this.reload()
        const waits = await this.intake(records)
        const own = Promise.all(waits).then(() => undefined)
        // A stop rejects it while an earlier batch is still unsettled, so nothing else observes it.
        own.catch(() => undefined)
        // In batch order: a batch is never committed past an earlier one left undecided.
        const settled = this.lastSettled.then(() => own)
        this.lastSettled = settled
        settled.catch(() => undefined)
        this.scheduleAdvance(0)
        return { settled }
      } catch (error) {
        this.stale = true
        throw error
      }
    })
  }

  private async intake(records: ConsumedRecord[]): Promise<Promise<void>[]> {
    const triggers: TriggerRecord[] = []
    const letters: DeadLetter[] = []
    const waits: Promise<void>[] = []
    const fresh = new Map<string, Waiting>()
    for (const record of records) {
      const consumed = BigInt(record.offset) + 1n
      if (consumed > (this.consumed.get(record.partition) ?? 0n)) this.consumed.set(record.partition, consumed)
      let trigger: MonitorTrigger
      try {
        trigger = checkTrigger((await this.deps.codec.decode(record.value, 'MonitorTrigger')).event)
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error
        letters.push({ record, code: error.code, reason: error.message, step: 'decode' })
        continue
      }
      const key = triggerKey(trigger)
      // Redelivered after a failed attempt or a restart: the one already waiting stands for it.
      const waiting = this.waiting.get(key) ?? fresh.get(key)
      if (waiting) {
        waits.push(waiting.done)
        continue
      }
      if (this.processed.has(key)) {
        this.note({ trigger, outcome: 'duplicate' })
        continue
      }
      const policy = this.deps.policies.get(trigger.model_id)
      if (!policy) {
        this.deps.logger.warn(
          { event: 'trigger_unknown_model', model_id: trigger.model_id, alert_id: trigger.alert_id },
          'trigger for a model without configuration',
        )
        triggers.push({
          trigger,
          kafka_partition: record.partition,
          kafka_offset: record.offset,
          received_at: this.now(),
          episode_id: '',
          decision_id: '',
          outcome: 'unknown_model',
        })
        this.note({ trigger, outcome: 'unknown_model' })
        continue
      }
      const { promise: done, resolve, reject } = deferred()
      const entry: Waiting = {
        key,
        trigger,
        partition: record.partition,
        offset: record.offset,
        received_at: this.now(),
        step: stepEnd(triggerDataTime(trigger), policy.decision_interval),
        done,
        resolve,
        reject,
      }
      fresh.set(key, entry)
      waits.push(done)
    }
    if (letters.length > 0) {
      if (!this.deps.deadLetter) throw new Error(`${letters.length} undecodable triggers and no dead-letter topic configured`)
      const { unsent } = await sendDeadLetters(this.deps.deadLetter.producer, this.deps.deadLetter.topic, letters, this.now())
      for (const { letter, error } of unsent)
        this.deps.logger.error(
          { event: 'dead_letter_unsent', code: letter.code, error, partition: letter.record.partition, offset: letter.record.offset },
          'the dead-letter topic refused an undecodable trigger; it is skipped',
        )
      this.deps.logger.warn(
        { event: 'triggers_dead_lettered', count: letters.length, codes: letters.map((l) => l.code) },
        'undecodable triggers sent to the dead-letter topic',
      )
    }
    if (triggers.length > 0) {
      await this.deps.store.writeBatch({ requests: [], decisions: [], episodes: [], triggers })
      for (const t of triggers) this.processed.add(triggerKey(t.trigger))
    }
    // Only once the batch is taken: a batch that failed above is retried whole.
    for (const entry of fresh.values()) this.waiting.set(entry.key, entry)
    return waits
  }

  private history(modelId: string): PolicyHistory {
    const requests = [...this.deps.emitter.requests.values()].filter((r) => r.request.model_id === modelId)
    const episodes = new Set(requests.map((r) => r.request.episode_id))
    return {
      retrains: requests.map((r) => ({
        request_id: r.request.request_id,
        episode_id: r.request.episode_id,
        decision_id: r.request.decision_id,
        requested_at: r.request.requested_at,
        cost: r.cost,
      })),
      approvals: this.approvals.filter((a) => episodes.has(a.episode_id) || this.tracker.get(a.episode_id)?.model_id === modelId),
      investigations: this.investigations.filter((i) => i.model_id === modelId),
      retrain_outcomes: this.outcomes.filter((o) => o.model_id === modelId),
    }
  }

  private scheduleAdvance(delayMs: number): void {
    if (this.advanceTimer || this.closed || this.waiting.size === 0) return
    this.advanceTimer = setTimeout(() => {
      this.advanceTimer = null
      void this.serial(() => this.advance()).then(
        () => {
          if (this.failingSince !== null)
            this.deps.logger.info({ event: 'policy_steps_resumed', failed_for_ms: this.now() - this.failingSince }, 'deciding steps works again')
          this.failingSince = null
          this.scheduleAdvance(this.pollMs)
        },
        (error: unknown) => {
          this.stale = true
          // Once per outage, not once per retry.
          if (this.failingSince === null)
            this.deps.logger.warn(
              { event: 'policy_step_failed', err: error, waiting: this.waiting.size },
              'deciding a step failed (ClickHouse or Kafka unreachable?); retrying every second',
            )
          this.failingSince ??= this.now()
          this.scheduleAdvance(Math.max(this.pollMs, 1_000))
        },
      )
    }, delayMs)
  }

  /** Decides every step the monitor has finished, oldest first. */
  private async advance(): Promise<void> {
    if (this.closed || this.waiting.size === 0 || this.deps.halted?.()) return
    if (this.stale) await this.reload()
    const finished = await this.mark.finished()
    const byPartition = new Map<number, Set<number>>()
    for (const w of this.waiting.values()) byPartition.set(w.partition, (byPartition.get(w.partition) ?? new Set()).add(w.step))
    // The topic's ends only when a step was newly passed: not on every poll while nothing moves.
    if ([...byPartition].some(([partition, steps]) => this.gate.needsEnds(partition, steps, finished))) {
      const ends = await this.mark.triggerEnds()
      for (const [partition, steps] of byPartition) this.gate.observe(partition, [...steps], finished, ends)
    }
    const due = [...this.waiting.values()].filter((w) => this.gate.due(w.partition, w.step, this.consumed.get(w.partition) ?? 0n))
    if (due.length === 0) return
    const steps = [...new Set(due.map((w) => w.step))].sort((a, b) => a - b)
    for (const step of steps) {
      const entries = due.filter((w) => w.step === step).sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)))
      await this.decideStep(step, entries)
      for (const partition of new Set(entries.map((e) => e.partition))) this.gate.forget(partition, step)
    }
    await this.deps.emitter.emitPending()
  }

  /** Applies a step's triggers in the order they were published, then decides each episode they
   *  touched once, as of the step's end. */
  private async decideStep(step: number, entries: Waiting[]): Promise<void> {
    const triggers: TriggerRecord[] = []
    const decisions: DecisionRow[] = []
    const repeated: DecisionRow[] = []
    const requests: StoredRequest[] = []
    const episodes = new Map<string, EpisodeState>()
    /** Per episode touched in this step: the step's records of it, and the episode as its latest
     *  firing trigger left it (what is decided: an alert that fired and resolved within the step
     *  is decided on its firing state, once). */
    const toDecide = new Map<string, { records: TriggerRecord[]; episode: Episode | null }>()

    for (const entry of entries) {
      const { trigger } = entry
      const base = { trigger, kafka_partition: entry.partition, kafka_offset: entry.offset, received_at: entry.received_at, episode_id: '', decision_id: '' }
      const applied = this.tracker.apply(trigger, step)
      if (applied.kind !== 'applied') {
        triggers.push({ ...base, outcome: applied.kind, episode_id: applied.kind === 'stale' ? (applied.state?.episode_id ?? '') : '' })
        this.note({ trigger, outcome: applied.kind })
        continue
      }
      episodes.set(applied.state.episode_id, applied.state)
      const record: TriggerRecord = { ...base, outcome: 'applied', episode_id: applied.state.episode_id }
      triggers.push(record)
      const pending = toDecide.get(applied.state.episode_id) ?? { records: [], episode: null }
      pending.records.push(record)
      if (trigger.status === 'firing') pending.episode = applied.episode
      toDecide.set(applied.state.episode_id, pending)
    }

    for (const { records, episode } of toDecide.values()) {
      if (!episode) {
        for (const r of records) this.note({ trigger: r.trigger, outcome: 'applied' })
        continue
      }
      const { result, decisionId } = await this.decideEpisode(episode, step, { requests, decisions, repeated, episodes })
      for (const r of records) {
        r.decision_id = decisionId
        this.note({ trigger: r.trigger, outcome: 'applied', decision: result.decision.decision, decision_id: decisionId })
      }
    }

    await this.deps.store.writeBatch({ requests, decisions, repeated, episodes: [...episodes.values()], triggers })
    for (const entry of entries) {
      this.processed.add(entry.key)
      this.waiting.delete(entry.key)
      entry.resolve()
    }
  }

  /** Decides one episode as of `step`, adding what to write to `out` (and recording a request
   *  with the emitter, which sends it once the batch is written). The same answer for the same
   *  reason as the episode's latest stored decision is counted on that decision (its id is
   *  returned) instead of being stored again; answers that carry a request never are. */
  private async decideEpisode(
    episode: Episode,
    step: number,
    out: { requests: StoredRequest[]; decisions: DecisionRow[]; repeated: DecisionRow[]; episodes: Map<string, EpisodeState> },
  ): Promise<{ result: DecisionResult; decisionId: string }> {
    const policy = this.deps.policies.get(episode.model_id)!
    const facts = await this.deps.loader.load(episode, policy, step)
    const result = decide({ ...facts, episode, history: this.history(episode.model_id) }, policy)
    const answer = answerKey(result.decision.decision, result.deciding?.reason.gate ?? '', result.deciding?.reason.code ?? '')
    const previous = this.latest.get(episode.episode_id)
    if (previous && previous.answer === answer && !result.request && !result.proposed) {
      // A step already counted (a redelivered trigger) is not counted twice.
      if (step > previous.last) {
        previous.last = step
        previous.row = { ...previous.row, repeats: Number(previous.row.repeats ?? 1) + 1, last_decided_at: step }
        out.repeated.push(previous.row)
      }
      return { result, decisionId: previous.decision_id }
    }
    const stored: StoredDecision = { result, trigger: episode.trigger, facts, policy_fingerprint: policyFingerprint(policy) }
    const row = this.deps.store.decisionRow(stored)
    out.decisions.push(row)
    this.latest.set(episode.episode_id, { decision_id: result.decision.decision_id, answer, last: step, row })
    this.deps.logger.info(
      {
        event: 'policy_decision',
        model_id: episode.model_id,
        episode_id: episode.episode_id,
        decision: result.decision.decision,
        gate: result.deciding?.reason.gate,
        code: result.deciding?.reason.code,
        decision_id: result.decision.decision_id,
        as_of: step,
      },
      `policy decided ${result.decision.decision}`,
    )
    if (result.proposed) {
      const p = result.proposed
      this.pending.set(p.decision_id, {
        decision_id: p.decision_id,
        model_id: p.model_id,
        episode_id: p.episode_id,
        decided_at: result.decision.decided_at,
        explanation: result.decision.explanation,
        proposed: p,
      })
    }
    if (result.request && !this.deps.emitter.has(result.request.request_id)) {
      const stored: StoredRequest = { request: result.request, cost: retrainCost(policy), approved_by: '', status: 'recorded', produced_at: 0 }
      out.requests.push(stored)
      this.deps.emitter.recorded(stored)
      const marked = this.tracker.markRequested(episode.episode_id, result.request.request_id, step)
      if (marked) out.episodes.set(marked.episode_id, marked)
    }
    return { result, decisionId: result.decision.decision_id }
  }

  /** Triggers waiting for the monitor to finish their step. */
  waitingTriggers(): number {
    return this.waiting.size
  }

  /** Stopping: triggers still waiting stay uncommitted and are decided after the restart. */
  close(): void {
    this.closed = true
    if (this.advanceTimer) clearTimeout(this.advanceTimer)
    this.advanceTimer = null
    for (const w of this.waiting.values()) w.reject(new Error("the policy stopped before the monitor finished this trigger's data"))
    this.waiting.clear()
  }

  private async recordRequest(request: StoredRequest['request'], approvedBy: string): Promise<void> {
    if (this.deps.emitter.has(request.request_id)) return
    const policy = this.deps.policies.get(request.model_id)
    const stored: StoredRequest = { request, cost: policy ? retrainCost(policy) : 0, approved_by: approvedBy, status: 'recorded', produced_at: 0 }
    await this.deps.store.writeRequests([stored])
    this.deps.emitter.recorded(stored)
    const marked = this.tracker.markRequested(request.episode_id, request.request_id, request.requested_at)
    if (marked) await this.deps.store.writeEpisodes([marked])
  }

  /** Decisions waiting for a person: the latest per episode whose episode has no request yet. */
  listPending(): PendingApproval[] {
    const latest = new Map<string, PendingApproval>()
    for (const p of this.pending.values()) {
      if (this.deps.emitter.has(p.proposed.request_id)) continue
      if (this.approvals.some((a) => a.episode_id === p.episode_id && a.at >= p.decided_at)) continue
      const seen = latest.get(p.episode_id)
      if (!seen || seen.decided_at < p.decided_at) latest.set(p.episode_id, p)
    }
    return [...latest.values()].sort((a, b) => a.decided_at - b.decided_at)
  }

  /** Approve or reject a pending decision; audited whatever the outcome. */
  act(decisionId: string, action: 'approve' | 'reject', who: { actor: string; comment: string; remote_addr: string }): Promise<ApprovalResult> {
    return this.serial(async () => {
      if (this.stale) await this.reload()
      const at = this.now()
      const p = this.pending.get(decisionId)
      const audit = (result: ApprovalRecord['result'], requestId = ''): ApprovalRecord => ({
        action_id: randomUUID(),
        at,
        decision_id: decisionId,
        model_id: p?.model_id ?? '',
        episode_id: p?.episode_id ?? '',
        action,
        result,
        ...who,
        request_id: requestId,
      })
      if (!p) {
        await this.deps.store.writeApproval(audit('not_found'))
        return { status: 'not_found', message: `no decision ${decisionId} is waiting for approval` }
      }
      const decided = this.approvals.find((a) => a.episode_id === p.episode_id && a.at >= p.decided_at)
      if (this.deps.emitter.has(p.proposed.request_id) || decided) {
        await this.deps.store.writeApproval(audit('not_pending'))
        return { status: 'not_pending', message: `episode ${p.episode_id} was already ${decided ? `${decided.action}d` : 'sent for retraining'}` }
      }
      const requestId = action === 'approve' ? p.proposed.request_id : ''
      // Audit first: if we crash after it, the restart finds the approval and records its request.
      await this.deps.store.writeApproval(audit('ok', requestId))
      this.approvals.push({ decision_id: decisionId, episode_id: p.episode_id, action, at })
      this.deps.logger.info({ event: `retrain_${action}d`, decision_id: decisionId, episode_id: p.episode_id, actor: who.actor }, `retrain ${action}d`)
      if (action === 'reject') return { status: 'rejected' }
      try {
        await this.recordRequest({ ...p.proposed, requested_at: at }, who.actor)
        await this.deps.emitter.emitPending()
      } catch (error) {
        this.stale = true
        throw error
      }
      return { status: 'approved', request_id: requestId }
    })
  }
  /**
   * Records what on-call found for an episode (audited whatever the outcome) and decides the
   * episode again on its latest firing trigger, as of that trigger's step: a real change goes on
   * through the remaining gates, a false alarm or a pipeline bug is suppressed.
   */
  recordInvestigation(
    episodeId: string,
    recorded: { outcome: InvestigationKind; fixed_at: number | null },
    who: { actor: string; comment: string; remote_addr: string },
  ): Promise<InvestigationResult> {
    return this.serial(async () => {
      if (this.stale) await this.reload()
      const at = this.now()
      const state = this.tracker.get(episodeId)
      const audit = (result: ApprovalRecord['result']): ApprovalRecord => ({
        action_id: randomUUID(),
        at,
        decision_id: '',
        model_id: state?.model_id ?? '',
        episode_id: episodeId,
        action: 'investigation',
        result,
        actor: who.actor,
        comment: `${recorded.outcome}${recorded.fixed_at === null ? '' : ` fixed_at=${recorded.fixed_at}`}: ${who.comment}`.slice(0, 2000),
        remote_addr: who.remote_addr,
        request_id: '',
      })
      if (!state || !this.deps.policies.has(state.model_id)) {
        await this.deps.store.writeApproval(audit('not_found'))
        return { status: 'not_found', message: `no episode ${episodeId}` }
      }
      const outcome: InvestigationOutcome = {
        episode_id: episodeId,
        model_id: state.model_id,
        outcome: recorded.outcome,
        fixed_at: recorded.fixed_at,
        change_point: state.change_point,
        actor: who.actor,
        comment: who.comment,
        at,
      }
      try {
        await this.deps.store.writeApproval(audit('ok'))
        await this.deps.store.writeInvestigation(outcome)
        this.investigations.push(outcome)
        this.deps.logger.info(
          { event: 'investigation_recorded', episode_id: episodeId, outcome: recorded.outcome, actor: who.actor },
          'investigation outcome recorded',
        )
        const latest = Object.values(state.alerts)
          .filter((a) => a.status === 'firing')
          .sort((a, b) => b.last_seen - a.last_seen || (a.alert_id < b.alert_id ? -1 : 1))[0]
        if (!latest) return { status: 'recorded', decision: null }
        const policy = this.deps.policies.get(state.model_id)!
        const out = {
          requests: [] as StoredRequest[],
          decisions: [] as DecisionRow[],
          repeated: [] as DecisionRow[],
          episodes: new Map<string, EpisodeState>(),
        }
        const { result, decisionId } = await this.decideEpisode(toEpisode(state, latest), stepEnd(triggerDataTime(latest), policy.decision_interval), out)
        await this.deps.store.writeBatch({ ...out, episodes: [...out.episodes.values()], triggers: [] })
        await this.deps.emitter.emitPending()
        return {
          status: 'recorded',
          decision: { decision_id: decisionId, decision: result.decision.decision, explanation: result.decision.explanation },
        }
      } catch (error) {
        this.stale = true
        throw error
      }
    })
  }
  /**
   * Judges every request whose outcome is not known yet against the model's windows (a newer
   * version with matured labels: retrain-outcome.ts), stores what can be told and returns it.
   * Later decisions of the model weigh their evidence and expected benefit by it.
   */
  evaluateRetrains(): Promise<RetrainOutcome[]> {
    return this.serial(async () => {
      if (this.stale) await this.reload()
      const known = new Set(this.outcomes.map((o) => o.request_id))
      const open = [...this.deps.emitter.requests.values()].filter(
        (s) => !known.has(s.request.request_id) && this.deps.policies.has(s.request.model_id) && s.status === 'produced',
      )
      const found: RetrainOutcome[] = []
      if (open.length === 0) return found
      // Most requests wait days for a new version: one grouped read finds the few that have one.
      const models = [...new Set(open.map((s) => s.request.model_id))]
      const seen = await this.deps.store.versionsSince(models, Math.min(...open.map((s) => s.request.requested_at)))
      for (const stored of open) {
        const request = stored.request
        if (!hasNewerVersion(request, seen)) continue
        const policy = this.deps.policies.get(request.model_id)!
        const sizes = Object.values(this.tracker.get(request.episode_id)?.alerts ?? {}).map((a) => a.window_size_ms)
        const size = sizes.length > 0 ? Math.min(...sizes) : 3_600_000
        const windows = await this.deps.store.versionWindows(request.model_id, size, request.training_data_from)
        const outcome = evaluateRetrain(request, windows, policy, stored.cost)
        if (outcome) found.push(outcome)
      }
      if (found.length === 0) return found
      await this.deps.store.writeRetrainOutcomes(found, this.now())
      this.outcomes.push(...found)
      for (const o of found)
        this.deps.logger.info(
          {
            event: 'retrain_outcome',
            request_id: o.request_id,
            model_id: o.model_id,
            status: o.status,
            difference: o.difference,
            realized_value: o.realized_value,
          },
          `retrain ${o.status}: accuracy ${o.old_accuracy.toFixed(3)} to ${o.new_accuracy.toFixed(3)}`,
        )
      return found
    })
  }
}
