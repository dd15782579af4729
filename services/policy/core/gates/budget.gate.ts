import { outcome, type DecisionContext, type GateOutcome } from '../decision-context.ts'
import type { PolicyConfig } from '../policy-config.ts'
import { human, num, referenceWindows, windowsSinceChange } from './gate-helpers.ts'
import type { WindowFacts } from '../decision-context.ts'

// Gate 5c. A retrain costs compute, storage and evaluation. It is worth it when the business
// value lost since the change point, projected over the benefit horizon and scaled by the share
// a retrain is expected to win back, exceeds that cost.

export interface BenefitEstimate {
  cost: number
  reference_value_per_prediction: number | null
  current_value_per_prediction: number | null
  loss_per_prediction: number | null
  predictions_over_horizon: number
  benefit: number | null
}

function valuePerPrediction(windows: WindowFacts[]): number | null {
  const known = windows.filter((w) => w.business_value !== null && w.labeled_count > 0)
  const labeled = known.reduce((s, w) => s + w.labeled_count, 0)
  return labeled > 0 ? known.reduce((s, w) => s + w.business_value!, 0) / labeled : null
}

export function estimateBenefit(context: DecisionContext, policy: PolicyConfig): BenefitEstimate {
  const cost = policy.cost.compute + policy.cost.storage + policy.cost.evaluation
  const since = windowsSinceChange(context)
  const ref = valuePerPrediction(referenceWindows(context, policy.reference_period))
  const cur = valuePerPrediction(since)
  const span = since.length * context.window_size_ms
  const volume = since.reduce((s, w) => s + w.volume, 0)
  const predictions = span > 0 ? (volume / span) * policy.benefit.horizon : 0
  const loss = ref !== null && cur !== null ? Math.max(0, ref - cur) : null
  return {
    cost,
    reference_value_per_prediction: ref,
    current_value_per_prediction: cur,
    loss_per_prediction: loss,
    predictions_over_horizon: predictions,
    benefit: loss === null ? null : loss * predictions * recovery(context, policy).share,
  }
}

/**
 * The share of the lost value a retrain is expected to win back: `expected_recovery`, scaled by
 * how the model's evaluated retrains turned out ((helped + 1) / (evaluated + 1), so one that did
 * not help halves it and one that helped leaves it).
 */
export function recovery(context: DecisionContext, policy: PolicyConfig): { share: number; helped: number; evaluated: number } {
  const outcomes = context.history.retrain_outcomes ?? []
  const helped = outcomes.filter((o) => o.status === 'helped').length
  return { share: (policy.benefit.expected_recovery * (helped + 1)) / (outcomes.length + 1), helped, evaluated: outcomes.length }
}

export function budgetGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  const e = estimateBenefit(context, policy)
  const evidence = ['windows']
  const facts = { cost: e.cost, benefit: e.benefit, loss_per_prediction: e.loss_per_prediction, predictions_over_horizon: e.predictions_over_horizon }

  if (policy.max_cost_per_period !== undefined) {
    const from = context.as_of - policy.period
    const spent = context.history.retrains.filter((r) => r.requested_at > from && r.requested_at <= context.as_of).reduce((s, r) => s + r.cost, 0)
    if (spent + e.cost > policy.max_cost_per_period) {
      return outcome(
        'budget',
        'hold',
        'budget_exhausted',
        `Retrains cost ${num(spent, 2)} in the last ${human(policy.period)}; another one (${num(e.cost, 2)}) would exceed the budget of ${num(policy.max_cost_per_period, 2)}.`,
        { facts: { ...facts, spent } },
      )
    }
  }
  if (e.benefit === null) {
    const verdict = policy.benefit.when_unknown === 'hold' ? 'hold' : 'pass'
    return outcome(
      'budget',
      verdict,
      'benefit_unknown',
      `The expected benefit is unknown (no business value in the windows before and after the change point); a retrain costs ${num(e.cost, 2)}. Policy: ${verdict === 'hold' ? 'hold' : 'go on'} when the benefit cannot be estimated.`,
      { evidence, facts },
    )
  }
  const cost = `cost ${num(e.cost, 2)} (compute ${num(policy.cost.compute, 2)}, storage ${num(policy.cost.storage, 2)}, evaluation ${num(policy.cost.evaluation, 2)})`
  const r = recovery(context, policy)
  const math = `value per prediction fell from ${num(e.reference_value_per_prediction!, 4)} to ${num(e.current_value_per_prediction!, 4)}; over ${human(policy.benefit.horizon)} (~${Math.round(e.predictions_over_horizon)} predictions) with ${num(r.share, 2)} recovered${r.evaluated > 0 ? ` (${num(policy.benefit.expected_recovery, 2)} scaled by ${r.helped} of ${r.evaluated} earlier retrains that helped)` : ''}, the expected benefit is ${num(e.benefit, 2)}`
  if (e.benefit >= e.cost * policy.benefit.min_ratio) {
    return outcome('budget', 'pass', 'benefit_exceeds_cost', `Worth it: ${math}, against a ${cost}.`, { evidence, facts })
  }
  return outcome('budget', 'hold', 'cost_exceeds_benefit', `Not worth it yet: ${math}, less than ${num(policy.benefit.min_ratio, 2)} x the ${cost}.`, {
    evidence,
    facts,
  })
}
