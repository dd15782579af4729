import { createHash } from 'node:crypto'
import type { DecisionKind, PolicyDecision, RetrainRequest } from '../../shared/events/types.ts'
import type { DecisionContext, GateOutcome } from './decision-context.ts'
import { approvalGate } from './gates/approval.gate.ts'
import { budgetGate } from './gates/budget.gate.ts'
import { cooldownGate } from './gates/cooldown.gate.ts'
import { evidenceGate } from './gates/evidence.gate.ts'
import { iso } from './gates/gate-helpers.ts'
import { knownEventGate } from './gates/known-event.gate.ts'
import { labelMaturity, labelMaturityGate } from './gates/label-maturity.gate.ts'
import { persistenceGate } from './gates/persistence.gate.ts'
import { rateLimitGate } from './gates/rate-limit.gate.ts'
import { rootCauseGate } from './gates/root-cause.gate.ts'
import { segmentGate } from './gates/segment.gate.ts'
import { bugRanges, insideBug, investigationOf, trainingRangeWithoutBugs, withoutBugWindows } from './investigations.ts'
import { policyFingerprint, type PolicyConfig } from './policy-config.ts'

/** The gates in the order they are asked: the first that does not pass decides. */
export const GATES = [
  rootCauseGate,
  labelMaturityGate,
  knownEventGate,
  segmentGate,
  persistenceGate,
  evidenceGate,
  cooldownGate,
  rateLimitGate,
  budgetGate,
  approvalGate,
] as const

export interface DecisionResult {
  decision: PolicyDecision
  /** Every gate's outcome, in order (all are evaluated so the audit shows the whole path). */
  outcomes: GateOutcome[]
  /** The outcome that decided; null for a retrain. */
  deciding: GateOutcome | null
  /** The request to send now (decision retrain). */
  request: RetrainRequest | null
  /** The request an approval would send (decision hold, awaiting approval). */
  proposed: RetrainRequest | null
  /** Change point and end of the latest mature window: the suggested training range. */
  training_range: { from: number; to: number }
}

export function sha256(parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex')
}

/** One request per episode: the same episode gives the same id after redelivery or restart. */
export function requestId(modelId: string, episodeId: string): string {
  return sha256(['retrain-request', modelId, episodeId]).slice(0, 32)
}

/** The decision about one trigger state of one episode under one policy. The context's
 *  numbers are not part of it: a redelivered trigger, decided again a little later with a few
 *  more labels, overwrites the same row instead of adding a second decision. */
export function decisionId(context: DecisionContext, policy: PolicyConfig): string {
  const t = context.episode.trigger
  // An investigation outcome makes it another decision about the same trigger state.
  const recorded = investigationOf(context.history.investigations, context.episode.episode_id)
  return sha256([
    'decision',
    context.episode.model_id,
    context.episode.episode_id,
    t.alert_id,
    t.status,
    t.last_seen,
    policy.policy_version,
    policyFingerprint(policy),
    ...(recorded ? [recorded.outcome, recorded.at] : []),
  ]).slice(0, 32)
}

const WORD: Record<DecisionKind, string> = { retrain: 'Retrain', hold: 'Hold', investigate: 'Investigate', suppress: 'Suppress' }
const GATE_LABEL: Record<string, string> = {
  root_cause: 'root cause',
  label_maturity: 'labels',
  known_event: 'known events',
  segment: 'segments',
  persistence: 'persistence',
  evidence: 'evidence',
  cooldown: 'cooldown',
  rate_limit: 'rate limit',
  budget: 'cost and benefit',
  approval: 'approval',
}

function explain(context: DecisionContext, kind: DecisionKind, outcomes: GateOutcome[], deciding: GateOutcome | null): string {
  const ep = context.episode
  const head = `${WORD[kind]} for model ${ep.model_id} (version ${ep.model_version}), episode ${ep.episode_id.slice(0, 12)} with change point ${iso(ep.change_point)}, on ${ep.trigger.kind} alert '${ep.trigger.subject}' (${ep.trigger.status}, window ${iso(ep.trigger.window_start)}).`
  const why = deciding ? ` Decided by the ${GATE_LABEL[deciding.reason.gate]} gate: ${deciding.reason.message}` : ' Every gate passed.'
  const path = outcomes.map((o) => `${GATE_LABEL[o.reason.gate]}: ${o.verdict === 'pass' ? 'ok' : o.verdict} (${o.reason.code})`).join('; ')
  const later = outcomes.filter((o) => o !== deciding && o.verdict !== 'pass' && o.reason.gate !== 'approval')
  const also = deciding && later.length > 0 ? ` Also not passing: ${later.map((o) => o.reason.message).join(' ')}` : ''
  return `${head}${why}${also} Gates in order: ${path}.`
}

function leftOut(dropped: number, bugs: { from: number; to: number }[]): string {
  if (dropped === 0) return ''
  return ` Left out: ${dropped} window${dropped === 1 ? '' : 's'} of fixed pipeline bugs (${bugs.map((b) => `${iso(b.from)}..${iso(b.to)}`).join(', ')}).`
}

export function decide(input: DecisionContext, policy: PolicyConfig): DecisionResult {
  const id = decisionId(input, policy)
  // A decision is not held back by its own request: deciding a redelivered trigger again after
  // its request was recorded must give the same answer, not 'already requested'.
  // Windows of a fixed pipeline bug are not the model's world: no gate sees them.
  const bugs = bugRanges(input.history.investigations, input.episode.model_id)
  const context: DecisionContext = {
    ...input,
    windows: withoutBugWindows(input.windows, bugs),
    concurrent_alerts: input.concurrent_alerts.filter((a) => !insideBug(a, bugs)),
    history: { ...input.history, retrains: input.history.retrains.filter((r) => r.decision_id !== id) },
  }
  const outcomes = GATES.map((gate) => gate(context, policy))
  const deciding = outcomes.find((o) => o.verdict !== 'pass') ?? null
  const kind: DecisionKind = deciding ? (deciding.verdict as Exclude<typeof deciding.verdict, 'pass'>) : 'retrain'
  const ep = context.episode

  const queries: string[] = []
  for (const o of outcomes) for (const name of o.evidence) queries.push(context.queries[name] ?? '')
  for (const alert of ep.alerts) queries.push(alert.evidence_query)
  const evidence_queries = [...new Set(queries.filter((q) => q.trim().length > 0))]

  const decision: PolicyDecision = {
    decision_id: id,
    model_id: ep.model_id,
    model_version: ep.model_version,
    episode_id: ep.episode_id,
    decision: kind,
    reasons: outcomes.map((o) => o.reason),
    explanation: explain(context, kind, outcomes, deciding) + leftOut(input.windows.length - context.windows.length, bugs),
    evidence_queries,
    trigger_alert_ids: ep.alerts.map((a) => a.alert_id).sort(),
    decided_at: context.as_of,
    policy_version: policy.policy_version,
  }

  const mature = labelMaturity(context, policy).latest_mature
  const training_range = trainingRangeWithoutBugs({ from: ep.change_point, to: mature ? mature.window_end : context.as_of }, bugs)
  const awaiting = deciding?.reason.code === 'awaiting_approval'
  const build = (): RetrainRequest => ({
    request_id: requestId(ep.model_id, ep.episode_id),
    model_id: ep.model_id,
    model_version: ep.model_version,
    episode_id: ep.episode_id,
    decision_id: decision.decision_id,
    requested_at: context.as_of,
    training_data_from: training_range.from,
    training_data_to: training_range.to,
    reasons: outcomes.filter((o) => o.reason.gate !== 'approval').map((o) => `${o.reason.gate}:${o.reason.code}`),
    explanation: decision.explanation,
    evidence_queries,
  })
  return {
    decision,
    outcomes,
    deciding,
    request: kind === 'retrain' ? build() : null,
    proposed: awaiting ? build() : null,
    training_range,
  }
}

/** Cost of one retrain under the policy (stored with the request for the budget gate). */
export function retrainCost(policy: PolicyConfig): number {
  return policy.cost.compute + policy.cost.storage + policy.cost.evaluation
}
