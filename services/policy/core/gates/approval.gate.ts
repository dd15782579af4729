import { outcome, type DecisionContext, type GateOutcome } from '../decision-context.ts'
import type { PolicyConfig } from '../policy-config.ts'
import { iso } from './gate-helpers.ts'

// Gate 6. With require_approval, a retrain that passed every other gate waits for a person;
// the approval API then sends the request. A rejection holds the rest of the episode.

export function approvalGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  if (!policy.require_approval) return outcome('approval', 'pass', 'approval_not_required', 'The policy does not require human approval.')
  const actions = context.history.approvals.filter((a) => a.episode_id === context.episode.episode_id).sort((a, b) => a.at - b.at)
  const last = actions.at(-1)
  if (last?.action === 'approve') return outcome('approval', 'pass', 'approved', `Approved at ${iso(last.at)} (decision ${last.decision_id}).`)
  if (last?.action === 'reject') {
    return outcome('approval', 'hold', 'approval_rejected', `A retrain for this episode was rejected at ${iso(last.at)} (decision ${last.decision_id}).`)
  }
  return outcome(
    'approval',
    'hold',
    'awaiting_approval',
    'Every gate passed; the policy requires a human approval before the retrain request is sent (POST /approvals/:decision_id/approve).',
  )
}
