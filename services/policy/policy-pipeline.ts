import { randomUUID } from 'node:crypto'
import { DecodeError } from '../shared/codec/decode-error.ts'
import type { EventCodec } from '../shared/codec/event-codec.ts'
import type { MonitorTrigger } from '../shared/events/types.ts'
import { sendDeadLetters, type DeadLetter } from '../shared/kafka/dead-letter.ts'
import type { RecordProducer } from '../shared/kafka/producer.ts'
import type { ConsumedRecord } from '../shared/kafka/records.ts'
import type { Logger } from '../shared/logging/logger.ts'
import type { ContextLoader } from './context-loader.ts'
import { decide, retrainCost } from './decide.ts'
import type { ApprovalAction, PolicyHistory } from './decision-context.ts'
import { EpisodeTracker, episodeOptions, type EpisodeState, type EpisodeTrackerOptions } from './episode-tracker.ts'
import { checkTrigger } from './trigger-shape.ts'
import { policyFingerprint, type PolicyConfig } from './policy-config.ts'
import { triggerKey, type ApprovalRecord, type PendingApproval, type PolicyStore, type StoredDecision, type StoredRequest, type TriggerRecord } from './policy-store.ts'
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
}

export type ApprovalResult =
  | { status: 'approved'; request_id: string }
  | { status: 'rejected' }
  | { status: 'not_found' | 'not_pending'; message: string }

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
  private pending = new Map<string, PendingApproval>()
  private stale = true
  /** Serializes batches and approval actions: both change the same state. */
  private lock: Promise<unknown> = Promise.resolve()
  private readonly now: () => number
  /** The latest outcomes (bounded), for logs and tests. */
  readonly handled: Handled[] = []

  constructor(private readonly deps: PolicyPipelineDeps) {
    this.now = deps.now ?? Date.now
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

  handleBatch(records: ConsumedRecord[]): Promise<void> {
    return this.serial(async () => {
      if (this.deps.halted?.()) throw new Error('policy pipeline halted')
      try {
        if (this.stale) await this.reload()
        await this.process(records)
      } catch (error) {
        this.stale = true
        throw error
      }
    })
  }

  private history(modelId: string): PolicyHistory {
    const requests = [...this.deps.emitter.requests.values()].filter((r) => r.request.model_id === modelId)
    const episodes = new Set(requests.map((r) => r.request.episode_id))
    return {
      retrains: requests.map((r) => ({ request_id: r.request.request_id, episode_id: r.request.episode_id, decision_id: r.request.decision_id, requested_at: r.request.requested_at, cost: r.cost })),
      approvals: this.approvals.filter((a) => episodes.has(a.episode_id) || this.tracker.get(a.episode_id)?.model_id === modelId),
    }
  }

  private async process(records: ConsumedRecord[]): Promise<void> {
    const triggers: TriggerRecord[] = []
    const decisions: StoredDecision[] = []
    const requests: StoredRequest[] = []
    const episodes = new Map<string, EpisodeState>()
    const letters: DeadLetter[] = []
    const keys: string[] = []

    for (const record of records) {
      let trigger: MonitorTrigger
      try {
        trigger = checkTrigger((await this.deps.codec.decode(record.value, 'MonitorTrigger')).event)
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error
        letters.push({ record, code: error.code, reason: error.message, step: 'decode' })
        continue
      }
      const key = triggerKey(trigger)
      if (this.processed.has(key) || keys.includes(key)) {
        this.note({ trigger, outcome: 'duplicate' })
        continue
      }
      keys.push(key)
      const at = this.now()
      const base = { trigger, kafka_partition: record.partition, kafka_offset: record.offset, received_at: at, episode_id: '', decision_id: '' }
      const policy = this.deps.policies.get(trigger.model_id)
      if (!policy) {
        this.deps.logger.warn({ event: 'trigger_unknown_model', model_id: trigger.model_id, alert_id: trigger.alert_id }, 'trigger for a model without configuration')
        triggers.push({ ...base, outcome: 'unknown_model' })
        this.note({ trigger, outcome: 'unknown_model' })
        continue
      }
      const applied = this.tracker.apply(trigger, at)
      if (applied.kind !== 'applied') {
        triggers.push({ ...base, outcome: applied.kind, episode_id: applied.kind === 'stale' ? (applied.state?.episode_id ?? '') : '' })
        this.note({ trigger, outcome: applied.kind })
        continue
      }
      episodes.set(applied.state.episode_id, applied.state)
      if (trigger.status !== 'firing') {
        triggers.push({ ...base, outcome: 'applied', episode_id: applied.state.episode_id })
        this.note({ trigger, outcome: 'applied' })
        continue
      }

      const facts = await this.deps.loader.load(applied.episode, policy, at)
      const result = decide({ ...facts, episode: applied.episode, history: this.history(trigger.model_id) }, policy)
      decisions.push({ result, trigger, facts, policy_fingerprint: policyFingerprint(policy) })
      triggers.push({ ...base, outcome: 'applied', episode_id: applied.state.episode_id, decision_id: result.decision.decision_id })
      this.note({ trigger, outcome: 'applied', decision: result.decision.decision, decision_id: result.decision.decision_id })
      this.deps.logger.info(
        { event: 'policy_decision', model_id: trigger.model_id, episode_id: applied.episode.episode_id, decision: result.decision.decision, gate: result.deciding?.reason.gate, code: result.deciding?.reason.code, decision_id: result.decision.decision_id },
        `policy decided ${result.decision.decision}`,
      )
      if (result.proposed) {
        const p = result.proposed
        this.pending.set(p.decision_id, { decision_id: p.decision_id, model_id: p.model_id, episode_id: p.episode_id, decided_at: result.decision.decided_at, explanation: result.decision.explanation, proposed: p })
      }
      if (result.request && !this.deps.emitter.has(result.request.request_id)) {
        const stored: StoredRequest = { request: result.request, cost: retrainCost(policy), approved_by: '', status: 'recorded', produced_at: 0 }
        requests.push(stored)
        this.deps.emitter.recorded(stored)
        const marked = this.tracker.markRequested(applied.episode.episode_id, result.request.request_id, at)
        if (marked) episodes.set(marked.episode_id, marked)
      }
    }

    if (letters.length > 0) {
      if (!this.deps.deadLetter) throw new Error(`${letters.length} undecodable triggers and no dead-letter topic configured`)
      const { unsent } = await sendDeadLetters(this.deps.deadLetter.producer, this.deps.deadLetter.topic, letters, this.now())
      for (const { letter, error } of unsent) this.deps.logger.error({ event: 'dead_letter_unsent', code: letter.code, error, partition: letter.record.partition, offset: letter.record.offset }, 'the dead-letter topic refused an undecodable trigger; it is skipped')
      this.deps.logger.warn({ event: 'triggers_dead_lettered', count: letters.length, codes: letters.map((l) => l.code) }, 'undecodable triggers sent to the dead-letter topic')
    }
    await this.deps.store.writeBatch({ requests, decisions, episodes: [...episodes.values()], triggers })
    for (const key of keys) this.processed.add(key)
    await this.deps.emitter.emitPending()
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
}
