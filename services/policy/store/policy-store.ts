import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { MonitorTrigger, RetrainRequest } from '../../shared/events/types.ts'
import type { EpisodeRecord } from '../../shared/records/policy-episode.ts'
import type { PolicyDecisionRecord } from '../../shared/records/policy-decision.ts'
import type { DecisionResult } from '../core/decide.ts'
import type { ApprovalAction, ContextFacts, InvestigationOutcome } from '../core/decision-context.ts'
import type { RetrainOutcome, VersionSeen, VersionWindow } from '../core/retrain-outcome.ts'
import type { EpisodeState } from '../core/episode-tracker.ts'

// The policy service's memory in ClickHouse (infra/clickhouse/0300_policy.sql). Rows are keyed
// by deterministic ids and read with FINAL, so writing the same batch twice changes nothing.

export type RequestStatus = 'recorded' | 'producing' | 'produced'
/** The version column of retrain_requests: a status can only move forward. */
export const STATUS_RANK: Record<RequestStatus, number> = { recorded: 1, producing: 2, produced: 3 }

export interface StoredRequest {
  request: RetrainRequest
  cost: number
  approved_by: string
  status: RequestStatus
  produced_at: number
}

export interface TriggerRecord {
  trigger: MonitorTrigger
  outcome: 'applied' | 'stale' | 'ignored' | 'unknown_model'
  episode_id: string
  decision_id: string
  kafka_partition: number
  kafka_offset: string
  received_at: number
}

export interface StoredDecision {
  result: DecisionResult
  /** The trigger state decided (the decision_id is derived from it). */
  trigger: MonitorTrigger
  facts: ContextFacts
  policy_fingerprint: string
}

/** A policy_decisions row as stored (rewritten whole when the same answer repeats). */
export type DecisionRow = PolicyDecisionRecord

export interface PendingApproval {
  decision_id: string
  model_id: string
  episode_id: string
  decided_at: number
  explanation: string
  proposed: RetrainRequest
}

export interface ApprovalRecord {
  action_id: string
  at: number
  decision_id: string
  model_id: string
  episode_id: string
  /** 'list': a refused GET /approvals; 'investigation': an outcome recorded for an episode. */
  action: 'approve' | 'reject' | 'list' | 'investigation'
  result: 'ok' | 'not_found' | 'not_pending' | 'unauthorized' | 'invalid'
  actor: string
  comment: string
  remote_addr: string
  request_id: string
}

export interface LoadedState {
  episodes: EpisodeState[]
  requests: StoredRequest[]
  approvals: (ApprovalAction & { request_id: string; actor: string })[]
  processed: Set<string>
  pending: PendingApproval[]
  investigations: InvestigationOutcome[]
  /** Per episode, its latest stored decision. */
  latestDecisions: DecisionRow[]
  retrainOutcomes: RetrainOutcome[]
}

export function triggerKey(t: { model_id: string; alert_id: string; status: string; last_seen: number }): string {
  return `${t.model_id}\u0000${t.alert_id}\u0000${t.status}\u0000${t.last_seen}`
}

const seconds = (ms: number): number => Math.floor(ms / 1000)

export class PolicyStore {
  private lastVersion = 0

  constructor(private readonly ch: ClickHouse) {}

  /** Monotonic row version (ms clock, bumped on ties) for ReplacingMergeTree. */
  private version(): number {
    this.lastVersion = Math.max(Date.now(), this.lastVersion + 1)
    return this.lastVersion
  }

  async load(): Promise<LoadedState> {
    const t = (name: string): string => this.ch.table(name)
    const [episodes, requests, approvals, processed, pending, investigations, latestDecisions, retrainOutcomes] = await Promise.all([
      this.ch.query<EpisodeRecord>(
        `SELECT episode_id, model_id, model_version, status, opened_at, change_point, request_id, alerts_json, updated_at FROM ${t('policy_episodes')} FINAL`,
      ),
      this.ch.query<{ request_json: string; cost: number; approved_by: string; status: RequestStatus; produced_at: number }>(
        `SELECT request_json, cost, approved_by, status, produced_at FROM ${t('retrain_requests')} FINAL`,
      ),
      this.ch.query<{ decision_id: string; episode_id: string; action: 'approve' | 'reject'; at: number; request_id: string; actor: string }>(
        `SELECT decision_id, episode_id, action, at, request_id, actor FROM ${t('policy_approvals')} WHERE result = 'ok' AND action IN ('approve', 'reject') ORDER BY at`,
      ),
      this.ch.query<{ model_id: string; alert_id: string; status: string; last_seen: number }>(
        `SELECT model_id, alert_id, status, last_seen FROM ${t('policy_triggers')} FINAL`,
      ),
      this.ch.query<{ decision_id: string; model_id: string; episode_id: string; decided_at: number; explanation: string; proposed_request_json: string }>(
        `SELECT decision_id, model_id, episode_id, decided_at, explanation, proposed_request_json FROM ${t('policy_decisions')} FINAL WHERE awaiting_approval = 1`,
      ),
      this.ch.query<InvestigationOutcome>(
        `SELECT episode_id, model_id, outcome, fixed_at, change_point, actor, comment, at FROM ${t('policy_investigations')} ORDER BY at, episode_id`,
      ),
      this.ch.query<DecisionRow>(
        `SELECT * FROM ${t('policy_decisions')} FINAL ORDER BY episode_id, greatest(decided_at, last_decided_at) DESC, decided_at DESC LIMIT 1 BY episode_id`,
      ),
      this.ch.query<RetrainOutcome>(`SELECT * FROM ${t('retrain_outcomes')} FINAL ORDER BY deployed_at, request_id`),
    ])
    return {
      episodes: episodes.map((e) => ({
        episode_id: e.episode_id,
        model_id: e.model_id,
        model_version: e.model_version,
        status: e.status === 'open' ? 'open' : 'closed',
        opened_at: Number(e.opened_at),
        change_point: Number(e.change_point),
        alerts: JSON.parse(e.alerts_json) as Record<string, MonitorTrigger>,
        request_id: e.request_id || null,
        updated_at: Number(e.updated_at),
      })),
      requests: requests.map((r) => ({
        request: JSON.parse(r.request_json) as RetrainRequest,
        cost: r.cost,
        approved_by: r.approved_by,
        status: r.status,
        produced_at: Number(r.produced_at),
      })),
      approvals: approvals.map((a) => ({
        decision_id: a.decision_id,
        episode_id: a.episode_id,
        action: a.action,
        at: Number(a.at),
        request_id: a.request_id,
        actor: a.actor,
      })),
      processed: new Set(processed.map((p) => triggerKey({ ...p, last_seen: Number(p.last_seen) }))),
      pending: pending.map((p) => ({
        decision_id: p.decision_id,
        model_id: p.model_id,
        episode_id: p.episode_id,
        decided_at: Number(p.decided_at),
        explanation: p.explanation,
        proposed: JSON.parse(p.proposed_request_json) as RetrainRequest,
      })),
      investigations: investigations.map((i) => ({
        ...i,
        fixed_at: Number(i.fixed_at) > 0 ? Number(i.fixed_at) : null,
        change_point: Number(i.change_point),
        at: Number(i.at),
      })),
      latestDecisions,
      retrainOutcomes: retrainOutcomes.map((o) => ({
        ...o,
        old_labeled: Number(o.old_labeled),
        new_labeled: Number(o.new_labeled),
        deployed_at: Number(o.deployed_at),
        realized_value: o.realized_value === null ? null : Number(o.realized_value),
      })),
    }
  }

  async writeRetrainOutcomes(outcomes: RetrainOutcome[], evaluatedAt: number): Promise<void> {
    await this.ch.insert(
      'retrain_outcomes',
      outcomes.map((o) => ({ ...o, evaluated_at: evaluatedAt, version: this.version() })),
    )
  }

  /**
   * Per model and version, the newest closed window (segment all, any size) from `from` on: one
   * small grouped read, to learn which retrains have a newer version before reading their windows.
   * Without FINAL: a row not merged yet can only add a version, and the windows are read after.
   */
  async versionsSince(modelIds: string[], from: number): Promise<VersionSeen[]> {
    if (modelIds.length === 0) return []
    const rows = await this.ch.query<VersionSeen>(
      `SELECT model_id, model_version, max(window_start) AS last_start
       FROM ${this.ch.table('window_summary')}
       WHERE model_id IN (${modelIds.map(lit).join(', ')}) AND segment = 'all' AND window_start >= ${Number(from)} AND closed = 1
       GROUP BY model_id, model_version`,
    )
    return rows.map((r) => ({ ...r, last_start: Number(r.last_start) }))
  }

  /** A model's windows per version (segment all) from `from` on, for judging its retrains. */
  async versionWindows(modelId: string, sizeMs: number, from: number): Promise<VersionWindow[]> {
    const rows = await this.ch.query<VersionWindow>(
      `SELECT model_version, window_start, volume, labeled_count, if(volume > 0, labeled_count / volume, 0) AS label_coverage, accuracy, business_value
       FROM ${this.ch.table('window_summary')} FINAL
       WHERE model_id = ${lit(modelId)} AND window_size_ms = ${Number(sizeMs)} AND segment = 'all' AND window_start >= ${Number(from)} AND closed = 1
       ORDER BY window_start, model_version`,
    )
    return rows.map((r) => ({ ...r, window_start: Number(r.window_start), volume: Number(r.volume), labeled_count: Number(r.labeled_count) }))
  }

  /**
   * One insert per table, in an order that keeps a crash anywhere safe: the request first (so
   * it is never lost), the processed-trigger markers last (so an unfinished batch is redone).
   */
  async writeBatch(batch: {
    requests: StoredRequest[]
    /** New decisions, as decisionRow built them (the pipeline keeps the same row to count repeats on). */
    decisions: DecisionRow[]
    /** Stored decisions whose answer came again (their repeats and last_decided_at moved on). */
    repeated?: DecisionRow[]
    episodes: EpisodeState[]
    triggers: TriggerRecord[]
  }): Promise<void> {
    await this.writeRequests(batch.requests)
    await this.ch.insert('policy_decisions', [...batch.decisions, ...(batch.repeated ?? []).map((r) => ({ ...r, version: this.version() }))])
    await this.writeEpisodes(batch.episodes)
    await this.ch.insert(
      'policy_triggers',
      batch.triggers.map((r) => ({
        model_id: r.trigger.model_id,
        alert_id: r.trigger.alert_id,
        status: r.trigger.status,
        last_seen: r.trigger.last_seen,
        kind: r.trigger.kind,
        subject: r.trigger.subject,
        segment: r.trigger.segment,
        outcome: r.outcome,
        episode_id: r.episode_id,
        decision_id: r.decision_id,
        trigger_json: JSON.stringify(r.trigger),
        kafka_partition: r.kafka_partition,
        kafka_offset: r.kafka_offset,
        received_at: r.received_at,
      })),
    )
  }

  async writeRequests(requests: StoredRequest[]): Promise<void> {
    await this.ch.insert(
      'retrain_requests',
      requests.map(({ request: r, cost, approved_by, status, produced_at }) => ({
        request_id: r.request_id,
        model_id: r.model_id,
        model_version: r.model_version,
        episode_id: r.episode_id,
        decision_id: r.decision_id,
        requested_at: r.requested_at,
        requested_time: seconds(r.requested_at),
        training_data_from: r.training_data_from,
        training_data_to: r.training_data_to,
        reasons: r.reasons,
        explanation: r.explanation,
        evidence_queries: r.evidence_queries,
        cost,
        approved_by,
        status,
        request_json: JSON.stringify(r),
        produced_at,
        version: STATUS_RANK[status],
      })),
    )
  }

  async writeEpisodes(episodes: EpisodeState[]): Promise<void> {
    await this.ch.insert(
      'policy_episodes',
      episodes.map((e): EpisodeRecord & { version: number } => ({
        episode_id: e.episode_id,
        model_id: e.model_id,
        model_version: e.model_version,
        status: e.status,
        opened_at: e.opened_at,
        change_point: e.change_point,
        request_id: e.request_id ?? '',
        alerts_json: JSON.stringify(e.alerts),
        updated_at: e.updated_at,
        version: this.version(),
      })),
    )
  }

  async writeInvestigation(i: InvestigationOutcome): Promise<void> {
    await this.ch.insert('policy_investigations', [{ ...i, fixed_at: i.fixed_at ?? 0, at_time: seconds(i.at) }])
  }

  async writeApproval(a: ApprovalRecord): Promise<void> {
    await this.ch.insert('policy_approvals', [{ ...a, at_time: seconds(a.at) }])
  }

  decisionRow({ result, trigger, facts, policy_fingerprint }: StoredDecision): DecisionRow {
    const d = result.decision
    return {
      decision_id: d.decision_id,
      model_id: d.model_id,
      model_version: d.model_version,
      episode_id: d.episode_id,
      decision: d.decision,
      deciding_gate: result.deciding?.reason.gate ?? '',
      deciding_code: result.deciding?.reason.code ?? '',
      reason_gates: result.outcomes.map((o) => o.reason.gate),
      reason_verdicts: result.outcomes.map((o) => o.verdict),
      reason_codes: result.outcomes.map((o) => o.reason.code),
      reason_messages: result.outcomes.map((o) => o.reason.message),
      explanation: d.explanation,
      evidence_queries: d.evidence_queries,
      trigger_alert_ids: d.trigger_alert_ids,
      trigger_alert_id: trigger.alert_id,
      trigger_status: trigger.status,
      trigger_last_seen: trigger.last_seen,
      change_point: result.training_range.from,
      training_data_from: result.training_range.from,
      training_data_to: result.training_range.to,
      // A UInt64 column: an estimate built from label-delay quantiles can carry a fraction.
      retry_at: result.deciding?.retry_at == null ? null : Math.round(result.deciding.retry_at),
      request_id: result.request?.request_id ?? '',
      awaiting_approval: result.proposed ? 1 : 0,
      proposed_request_json: result.proposed ? JSON.stringify(result.proposed) : '',
      decided_at: d.decided_at,
      decided_time: seconds(d.decided_at),
      repeats: 1,
      last_decided_at: d.decided_at,
      policy_version: d.policy_version,
      policy_fingerprint,
      context_json: JSON.stringify(facts),
      version: this.version(),
    }
  }

  /** The trigger history in topic order (per model), for replay. */
  async triggerHistory(modelIds?: string[]): Promise<{ trigger: MonitorTrigger; received_at: number }[]> {
    const where = modelIds?.length ? `WHERE model_id IN (${modelIds.map(lit).join(', ')})` : ''
    const rows = await this.ch.query<{ trigger_json: string; received_at: number }>(
      `SELECT trigger_json, received_at FROM ${this.ch.table('policy_triggers')} FINAL ${where} ORDER BY model_id, kafka_partition, kafka_offset`,
    )
    return rows.map((r) => ({ trigger: JSON.parse(r.trigger_json) as MonitorTrigger, received_at: Number(r.received_at) }))
  }

  /** The monitor's own record of the triggers it sent (alert_events), for history from before
   *  the policy service ran. */
  async monitorHistory(modelIds?: string[]): Promise<{ trigger: MonitorTrigger; received_at: number }[]> {
    const where = modelIds?.length ? `WHERE model_id IN (${modelIds.map(lit).join(', ')})` : ''
    const rows = await this.ch.query<{ trigger_json: string; emitted_at: number }>(
      `SELECT trigger_json, emitted_at FROM ${this.ch.table('alert_events')} FINAL ${where} ORDER BY model_id, emitted_at, last_seen, status`,
    )
    return rows.map((r) => ({ trigger: JSON.parse(r.trigger_json) as MonitorTrigger, received_at: Number(r.emitted_at) }))
  }

  /** Stored decisions: facts by trigger state (latest write wins), and decisions by id. */
  async storedDecisions(
    modelIds?: string[],
  ): Promise<{ trigger_key: string; decision_id: string; decision: string; deciding_code: string; request_id: string; facts: ContextFacts }[]> {
    const where = modelIds?.length ? `WHERE model_id IN (${modelIds.map(lit).join(', ')})` : ''
    const rows = await this.ch.query<{
      model_id: string
      trigger_alert_id: string
      trigger_status: string
      trigger_last_seen: number
      decision_id: string
      decision: string
      deciding_code: string
      request_id: string
      context_json: string
    }>(
      `SELECT model_id, trigger_alert_id, trigger_status, trigger_last_seen, decision_id, decision, deciding_code, request_id, context_json FROM ${this.ch.table('policy_decisions')} FINAL ${where} ORDER BY version`,
    )
    return rows.map((r) => ({
      trigger_key: triggerKey({ model_id: r.model_id, alert_id: r.trigger_alert_id, status: r.trigger_status, last_seen: Number(r.trigger_last_seen) }),
      decision_id: r.decision_id,
      decision: r.decision,
      deciding_code: r.deciding_code,
      request_id: r.request_id,
      facts: JSON.parse(r.context_json) as ContextFacts,
    }))
  }
}
