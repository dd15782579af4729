import { outcome, type DecisionContext, type GateOutcome } from '../decision-context.ts'
import type { PolicyConfig } from '../policy-config.ts'
import { human, iso } from './gate-helpers.ts'

// Gate 5b. At most `max_retrains` per sliding `period`: a model that needs more is telling us
// something retraining does not fix.

export function rateLimitGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  const from = context.as_of - policy.period
  const inPeriod = context.history.retrains
    .filter((r) => r.requested_at > from && r.requested_at <= context.as_of)
    .sort((a, b) => a.requested_at - b.requested_at)
  const facts = { retrains_in_period: inPeriod.length, max_retrains: policy.max_retrains }
  if (inPeriod.length >= policy.max_retrains) {
    // The window slides: the limit lifts when enough of the oldest requests leave it.
    const leaving = inPeriod[inPeriod.length - policy.max_retrains]
    const retryAt = leaving ? leaving.requested_at + policy.period : undefined
    return outcome(
      'rate_limit',
      'hold',
      'rate_limited',
      `${inPeriod.length} retrains in the last ${human(policy.period)}, at most ${policy.max_retrains} allowed${retryAt ? `; the next one is possible after ${iso(retryAt)}` : ''}.`,
      { facts, ...(retryAt ? { retry_at: retryAt } : {}) },
    )
  }
  return outcome(
    'rate_limit',
    'pass',
    'within_rate_limit',
    `${inPeriod.length} retrains in the last ${human(policy.period)}, at most ${policy.max_retrains} allowed.`,
    { facts },
  )
}
