import { describe, expect, it } from 'vitest'
import { decide, decisionId, requestId } from '../../../services/policy/core/decide.ts'
import { CP, H, MODEL, context, degradedWindows, policy, trigger, window } from './fixtures.ts'

const GATE_ORDER = ['root_cause', 'label_maturity', 'known_event', 'segment', 'persistence', 'evidence', 'cooldown', 'rate_limit', 'budget', 'approval']

describe('decide', () => {
  it('a sustained performance drop with mature labels gives a retrain and one request for the episode', () => {
    const ctx = context()
    const r = decide(ctx, policy())
    expect(r.decision.decision).toBe('retrain')
    expect(r.deciding).toBeNull()
    // Every gate is in the audit, in order, including the passing ones.
    expect(r.decision.reasons.map((x) => x.gate)).toEqual(GATE_ORDER)
    expect(r.outcomes.every((o) => o.verdict === 'pass')).toBe(true)
    expect(r.request).toMatchObject({
      request_id: requestId(MODEL, 'ep-1'),
      model_id: MODEL,
      episode_id: 'ep-1',
      decision_id: r.decision.decision_id,
      requested_at: ctx.as_of,
      // From the change point to the end of the latest window with >= 30% labels (CP+3h).
      training_data_from: CP,
      training_data_to: CP + 4 * H,
    })
    expect(r.request!.reasons).toContain('evidence:performance_drop')
    expect(r.decision.explanation).toMatch(/^Retrain for model credit-default/)
    expect(r.decision.explanation).toContain('Every gate passed')
    expect(r.decision.trigger_alert_ids).toEqual(['a-perf'])
  })

  it('evidence queries are the SQL behind the gates plus the alerts’ own queries, each once', () => {
    const r = decide(context(), policy())
    expect(r.decision.evidence_queries).toEqual([
      'SELECT * FROM alerts',
      'SELECT deploys',
      'SELECT * FROM window_summary',
      'SELECT rate',
      `SELECT accuracy FROM window_summary WHERE model_id = '${MODEL}'`,
    ])
  })

  it('ids are deterministic: the same trigger state under the same policy gives the same decision_id, whatever the labels say by then', () => {
    const a = decide(context(), policy())
    const later = decide(context({ as_of: CP + 7 * H, windows: [...degradedWindows(), window(CP + 6 * H)] }), policy())
    expect(later.decision.decision_id).toBe(a.decision.decision_id)
    expect(later.request!.request_id).toBe(a.request!.request_id)
    const next = context({}, [trigger({ last_seen: CP + 2 * H })])
    expect(decisionId(next, policy())).not.toBe(a.decision.decision_id)
    expect(decide(next, policy()).request!.request_id).toBe(a.request!.request_id)
    expect(decisionId(context(), policy({ policy_version: '2' }))).not.toBe(a.decision.decision_id)
  })

  it('the same drop inside a configured Black Friday window is held', () => {
    const r = decide(context(), policy({ calendar: [{ name: 'Black Friday', from: '2026-11-10', to: '2026-11-12' }] }))
    expect(r.decision.decision).toBe('hold')
    expect(r.deciding?.reason).toMatchObject({ gate: 'known_event', code: 'known_event' })
    expect(r.request).toBeNull()
    expect(r.decision.explanation).toContain('Decided by the known events gate')
  })

  it('a null spike together with drift means investigate and no request, even when everything else passes', () => {
    const drift = trigger({ alert_id: 'a-drift', kind: 'drift', subject: 'income' })
    const nulls = trigger({ alert_id: 'a-null', kind: 'data_quality', subject: 'null_rate:income', first_seen: CP + H, last_seen: CP + 2 * H })
    const r = decide(context({ concurrent_alerts: [nulls] }, [drift]), policy())
    expect(r.decision.decision).toBe('investigate')
    expect(r.decision.reasons[0]).toMatchObject({ gate: 'root_cause', code: 'concurrent_data_quality_alert' })
    expect(r.request).toBeNull()
  })

  it('the first failing gate decides; later failures are still reported', () => {
    const spike = context(
      { history: { retrains: [{ request_id: 'r0', episode_id: 'ep-0', decision_id: 'd0', requested_at: CP, cost: 150 }], approvals: [] } },
      [trigger({ last_seen: CP })],
    )
    const r = decide(spike, policy())
    expect(r.decision.decision).toBe('suppress')
    expect(r.deciding?.reason.code).toBe('single_window_spike')
    expect(r.outcomes.find((o) => o.reason.gate === 'cooldown')?.verdict).toBe('hold')
    expect(r.decision.explanation).toContain('Also not passing')
  })

  it('with require_approval a retrain waits as a hold with the request it would send', () => {
    const r = decide(context(), policy({ require_approval: true }))
    expect(r.decision.decision).toBe('hold')
    expect(r.deciding?.reason.code).toBe('awaiting_approval')
    expect(r.request).toBeNull()
    expect(r.proposed).toMatchObject({ request_id: requestId(MODEL, 'ep-1'), decision_id: r.decision.decision_id })
    expect(r.proposed!.reasons.some((x) => x.startsWith('approval:'))).toBe(false)
  })
})

describe('decide on a redelivered trigger', () => {
  it('is not held back by the request its own decision recorded (same decision, same request)', () => {
    const first = decide(context(), policy())
    const own = { request_id: first.request!.request_id, episode_id: 'ep-1', decision_id: first.decision.decision_id, requested_at: CP + 6 * H, cost: 150 }
    const again = decide(context({ history: { retrains: [own], approvals: [] } }), policy())
    expect(again.decision.decision).toBe('retrain')
    expect(again.decision.decision_id).toBe(first.decision.decision_id)
    // A later trigger of the same episode is a different decision: the request exists, hold.
    const later = decide(context({ history: { retrains: [own], approvals: [] } }, [trigger({ last_seen: CP + 2 * H })]), policy())
    expect(later.deciding?.reason.code).toBe('already_requested')
  })
})
