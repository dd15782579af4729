import { outcome, type DecisionContext, type GateOutcome } from '../decision-context.ts'
import type { PolicyConfig } from '../policy-config.ts'
import { human, iso } from './gate-helpers.ts'

// Gate 5a. Every retrain is a new model in production, a new chance to fail: one request per
// episode, and none sooner than `cooldown` after the previous one.

export function cooldownGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  const { episode, history } = context
  const same = history.retrains.find((r) => r.episode_id === episode.episode_id)
  if (same) {
    return outcome(
      'cooldown',
      'hold',
      'already_requested',
      `A retrain was already requested for this episode (${same.request_id} at ${iso(same.requested_at)}): one request per episode.`,
      { facts: { request_id: same.request_id } },
    )
  }
  const past = history.retrains.filter((r) => r.requested_at <= context.as_of)
  if (past.length === 0)
    return outcome('cooldown', 'pass', 'no_recent_retrain', `No earlier retrain of ${episode.model_id}; cooldown ${human(policy.cooldown)}.`)
  const last = past.reduce((a, b) => (a.requested_at >= b.requested_at ? a : b))
  const ends = last.requested_at + policy.cooldown
  if (context.as_of < ends) {
    return outcome(
      'cooldown',
      'hold',
      'cooldown_active',
      `The last retrain was requested ${human(context.as_of - last.requested_at)} ago (${iso(last.requested_at)}); the cooldown of ${human(policy.cooldown)} ends at ${iso(ends)}.`,
      { retry_at: ends, facts: { last_requested_at: last.requested_at } },
    )
  }
  return outcome(
    'cooldown',
    'pass',
    'outside_cooldown',
    `The last retrain was ${human(context.as_of - last.requested_at)} ago (${iso(last.requested_at)}), longer than the cooldown of ${human(policy.cooldown)}.`,
    {
      facts: { last_requested_at: last.requested_at },
    },
  )
}
