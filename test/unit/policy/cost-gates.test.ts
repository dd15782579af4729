import { describe, expect, it } from 'vitest'
import { approvalGate } from '../../../services/policy/core/gates/approval.gate.ts'
import { budgetGate, estimateBenefit } from '../../../services/policy/core/gates/budget.gate.ts'
import { cooldownGate } from '../../../services/policy/core/gates/cooldown.gate.ts'
import { rateLimitGate } from '../../../services/policy/core/gates/rate-limit.gate.ts'
import { CP, DAY, H, context, degradedWindows, policy } from './fixtures.ts'

const AS_OF = CP + 6 * H
const past = (agoMs: number, episode = 'ep-0', cost = 150) => ({
  request_id: `r-${episode}-${agoMs}`,
  episode_id: episode,
  decision_id: `d-${episode}`,
  requested_at: AS_OF - agoMs,
  cost,
})

describe('cooldown gate', () => {
  it('passes without earlier retrains and after the cooldown', () => {
    expect(cooldownGate(context(), policy()).reason.code).toBe('no_recent_retrain')
    expect(cooldownGate(context({ history: { retrains: [past(8 * DAY)], approvals: [] } }), policy()).reason.code).toBe('outside_cooldown')
  })

  it('a second trigger inside the cooldown is held until the cooldown ends', () => {
    const o = cooldownGate(context({ history: { retrains: [past(2 * DAY)], approvals: [] } }), policy())
    expect(o.verdict).toBe('hold')
    expect(o.reason.code).toBe('cooldown_active')
    expect(o.retry_at).toBe(AS_OF - 2 * DAY + 7 * DAY)
  })

  it('an episode that already has a request gets no second one, whatever the cooldown', () => {
    const o = cooldownGate(context({ history: { retrains: [past(30 * DAY, 'ep-1')], approvals: [] } }), policy({ cooldown: 0 }))
    expect(o.reason.code).toBe('already_requested')
  })
})

describe('rate limit gate', () => {
  it('holds at max_retrains per sliding period and says when the oldest leaves it', () => {
    const history = { retrains: [past(20 * DAY, 'a'), past(10 * DAY, 'b'), past(40 * DAY, 'c')], approvals: [] }
    const o = rateLimitGate(context({ history }), policy())
    expect(o.facts).toEqual({ retrains_in_period: 2, max_retrains: 2 })
    expect(o.verdict).toBe('hold')
    expect(o.retry_at).toBe(AS_OF - 20 * DAY + 30 * DAY)
    expect(rateLimitGate(context({ history }), policy({ max_retrains: 3 })).verdict).toBe('pass')
  })
})

describe('budget gate', () => {
  it('weighs the cost of a retrain against the value lost since the change point', () => {
    const e = estimateBenefit(context(), policy())
    // Value per labeled prediction: 1.0 before, 0.7 after; 1000 predictions an hour; 30 days;
    // half of the loss expected back.
    const benefit = (1.0 - 0.7) * 1000 * 24 * 30 * 0.5
    expect(e.cost).toBe(150)
    expect(e.reference_value_per_prediction).toBeCloseTo(1.0, 12)
    expect(e.current_value_per_prediction).toBeCloseTo(0.7, 12)
    expect(e.benefit).toBeCloseTo(benefit, 6)
    expect(budgetGate(context(), policy()).reason.code).toBe('benefit_exceeds_cost')
  })

  it('holds when the retrain costs more than it is expected to win back', () => {
    const o = budgetGate(context(), policy({ cost: { compute: 200_000 } }))
    expect(o.verdict).toBe('hold')
    expect(o.reason.code).toBe('cost_exceeds_benefit')
  })

  it('with no business value it follows benefit.when_unknown', () => {
    const windows = degradedWindows().map((w) => ({ ...w, business_value: null }))
    expect(budgetGate(context({ windows }), policy()).verdict).toBe('pass')
    const o = budgetGate(context({ windows }), policy({ benefit: { when_unknown: 'hold' } }))
    expect(o.verdict).toBe('hold')
    expect(o.reason.code).toBe('benefit_unknown')
  })

  it('a spending cap per period holds once it would be exceeded', () => {
    const o = budgetGate(context({ history: { retrains: [past(9 * DAY)], approvals: [] } }), policy({ max_cost_per_period: 200 }))
    expect(o.reason.code).toBe('budget_exhausted')
    expect(o.facts?.spent).toBe(150)
  })
})

describe('approval gate', () => {
  it('waits for a person when required, passes once approved, holds once rejected', () => {
    expect(approvalGate(context(), policy()).verdict).toBe('pass')
    expect(approvalGate(context(), policy({ require_approval: true })).reason.code).toBe('awaiting_approval')
    const approved = context({ history: { retrains: [], approvals: [{ decision_id: 'd', episode_id: 'ep-1', action: 'approve', at: AS_OF }] } })
    expect(approvalGate(approved, policy({ require_approval: true })).reason.code).toBe('approved')
    const rejected = context({ history: { retrains: [], approvals: [{ decision_id: 'd', episode_id: 'ep-1', action: 'reject', at: AS_OF }] } })
    expect(approvalGate(rejected, policy({ require_approval: true })).reason.code).toBe('approval_rejected')
  })
})
