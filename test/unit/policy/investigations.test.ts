import { describe, expect, it } from 'vitest'
import { decide, decisionId } from '../../../services/policy/core/decide.ts'
import type { InvestigationOutcome } from '../../../services/policy/core/decision-context.ts'
import { trainingRangeWithoutBugs } from '../../../services/policy/core/investigations.ts'
import { CP, DAY, H, MODEL, context, degradedWindows, policy, trigger, window } from './fixtures.ts'

// What on-call records about an episode changes the decision: a real change passes the root-cause
// gate, a false alarm and a pipeline bug suppress the episode, and a fixed bug's windows are left
// out of every later decision of the model.

const recorded = (outcome: InvestigationOutcome['outcome'], extra: Partial<InvestigationOutcome> = {}): InvestigationOutcome => ({
  episode_id: 'ep-1',
  model_id: MODEL,
  outcome,
  fixed_at: null,
  change_point: CP,
  actor: 'alice',
  comment: 'looked at the feature store',
  at: CP + 10 * H,
  ...extra,
})

/** The baseline drop with a data-quality alert beside it: the root-cause gate investigates. */
const withBrokenData = (investigations: InvestigationOutcome[] = []) =>
  context({
    concurrent_alerts: [trigger({ alert_id: 'dq', kind: 'data_quality', subject: 'null_rate', severity: 'critical' })],
    history: { retrains: [], approvals: [], investigations },
  })

describe('investigation outcomes', () => {
  it('a real change lets an investigated episode through the remaining gates to a retrain', () => {
    expect(decide(withBrokenData(), policy()).decision.decision).toBe('investigate')
    const r = decide(withBrokenData([recorded('real_change')]), policy())
    expect(r.decision.decision).toBe('retrain')
    expect(r.outcomes[0]!.reason).toMatchObject({ gate: 'root_cause', code: 'confirmed_real_change' })
    expect(r.outcomes[0]!.reason.message).toContain('alice')
    expect(r.outcomes[0]!.reason.message).toContain('null_rate')
  })

  it('a false alarm suppresses the episode; another episode of the model is not affected', () => {
    const r = decide(withBrokenData([recorded('false_alarm')]), policy())
    expect([r.decision.decision, r.deciding?.reason.code]).toEqual(['suppress', 'false_alarm'])
    expect(r.request).toBeNull()
    const other = decide(context({ history: { retrains: [], approvals: [], investigations: [recorded('false_alarm', { episode_id: 'ep-0' })] } }), policy())
    expect(other.decision.decision).toBe('retrain')
  })

  it('the latest outcome of an episode counts', () => {
    const r = decide(withBrokenData([recorded('false_alarm'), recorded('real_change', { at: CP + 11 * H })]), policy())
    expect(r.decision.decision).toBe('retrain')
  })

  it('a pipeline bug suppresses its episode, and a later episode neither sees its windows nor trains on them', () => {
    const fixedAt = CP + H
    const bug = recorded('pipeline_bug', { fixed_at: fixedAt })
    const own = decide(withBrokenData([bug]), policy())
    expect([own.decision.decision, own.deciding?.reason.code]).toEqual(['suppress', 'pipeline_bug'])

    // A later episode of the same model whose range starts inside the bug's windows.
    const later = context({ history: { retrains: [], approvals: [], investigations: [{ ...bug, episode_id: 'ep-0' }] } })
    const r = decide(later, policy())
    expect(r.decision.decision).toBe('retrain')
    // Window CP is the bug's: the training data starts when it was fixed.
    expect(r.request!.training_data_from).toBe(fixedAt)
    expect(r.request!.training_data_to).toBe(decide(context(), policy()).request!.training_data_to)
    expect(r.decision.explanation).toContain('Left out: 1 window of fixed pipeline bugs')
  })

  it('windows of a fixed bug are not evidence: a drop seen only in them is not a reason to retrain', () => {
    // The drop's six windows all fall in the bug's range; only healthy reference windows remain.
    const bug = recorded('pipeline_bug', { episode_id: 'ep-0', fixed_at: CP + 6 * H })
    const r = decide(context({ history: { retrains: [], approvals: [], investigations: [bug] } }), policy())
    expect(r.decision.decision).not.toBe('retrain')
    expect(r.request).toBeNull()
  })

  it('an outcome makes a new decision about the same trigger state', () => {
    const before = decisionId(withBrokenData(), policy())
    const after = decisionId(withBrokenData([recorded('real_change')]), policy())
    expect(after).not.toBe(before)
    expect(decisionId(withBrokenData([recorded('real_change')]), policy())).toBe(after)
  })

  it('training ranges skip every bug they overlap', () => {
    const range = { from: CP, to: CP + 10 * DAY }
    expect(trainingRangeWithoutBugs(range, [])).toEqual(range)
    expect(trainingRangeWithoutBugs(range, [{ from: CP - DAY, to: CP + DAY }])).toEqual({ from: CP + DAY, to: CP + 10 * DAY })
    expect(trainingRangeWithoutBugs(range, [{ from: CP + 3 * DAY, to: CP + 4 * DAY }])).toEqual({ from: CP + 4 * DAY, to: CP + 10 * DAY })
    expect(trainingRangeWithoutBugs(range, [{ from: CP + 11 * DAY, to: CP + 12 * DAY }])).toEqual(range)
    expect(window(CP).window_end).toBe(CP + H)
    expect(degradedWindows().length).toBe(54)
  })

  it('resolved alerts of a fixed bug are no root cause of a later change', () => {
    const dq = trigger({
      alert_id: 'dq',
      kind: 'data_quality',
      subject: 'null_rate',
      severity: 'critical',
      status: 'resolved',
      first_seen: CP - 26 * H,
      last_seen: CP - 23 * H,
    })
    const bug = recorded('pipeline_bug', { episode_id: 'ep-0', change_point: CP - 26 * H, fixed_at: CP - 20 * H })
    const later = (investigations: InvestigationOutcome[]) => context({ concurrent_alerts: [dq], history: { retrains: [], approvals: [], investigations } })
    expect(decide(later([]), policy()).decision.decision).toBe('investigate')
    expect(decide(later([bug]), policy()).decision.decision).toBe('retrain')
    // Still firing, or outlasting the fix: not explained by it.
    expect(decide(later([{ ...bug, fixed_at: CP - 24 * H }]), policy()).decision.decision).toBe('investigate')
  })
})
