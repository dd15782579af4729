import { describe, expect, it } from 'vitest'
import { foldEpisodes, initialEpisodeState } from '../../../services/monitor/core/alerts/alert-episodes.ts'
import { alertId } from '../../../services/monitor/core/alerts/alert-id.ts'
import { buildTrigger } from '../../../services/monitor/core/alerts/alert-text.ts'
import type { Finding } from '../../../services/monitor/core/detectors/finding.ts'
import { HOUR, T0, windowKey } from './synthetic.ts'

const identity = { model_id: 'churn', kind: 'performance' as const, subject: 'accuracy', segment: 'country=DE', window_size_ms: HOUR }

function finding(start: number, observed: number): Finding {
  return {
    key: windowKey(start, { segment: 'country=DE', model_version: 'v7' }),
    kind: 'performance',
    subject: 'accuracy',
    severity: observed < 0.8 ? 'critical' : 'warning',
    measure: 'accuracy',
    observed,
    expected: 0.9,
    threshold: 0.85,
    evidence: [{ name: 'accuracy_drop', score: 0.9 - observed, detail: 'drop' }],
    label_coverage: 0.62,
    estimated: false,
    summary: `accuracy ${observed} vs reference 0.9`,
    runbook: 'look for concurrent data-quality alerts first',
    evidence_query: "SELECT 1 FROM driftgate.window_summary FINAL WHERE model_id = 'churn'",
  }
}

describe('alert text', () => {
  const seq = [0.82, 0.78, 0.75, null, null, null].map((o, i) => ({ window_start: T0 + i * HOUR, finding: o === null ? null : finding(T0 + i * HOUR, o) }))
  const { transitions } = foldEpisodes(initialEpisodeState(identity), seq, { n: 2, m: 3, k: 3, mute: [] })
  const [firing, updated, resolved] = transitions.map(buildTrigger)

  it('builds a firing trigger carrying the finding, the episode id and when it started', () => {
    expect(firing).toMatchObject({
      alert_id: alertId(identity, T0),
      model_id: 'churn',
      model_version: 'v7',
      segment: 'country=DE',
      kind: 'performance',
      subject: 'accuracy',
      severity: 'critical',
      status: 'firing',
      window_size_ms: HOUR,
      window_start: T0 + HOUR,
      window_end: T0 + 2 * HOUR,
      observed: 0.78,
      expected: 0.9,
      threshold: 0.85,
      label_coverage: 0.62,
      estimated: false,
      first_seen: T0,
      last_seen: T0 + HOUR,
    })
    expect(firing!.summary).toBe(
      'CRITICAL performance/accuracy on churn v7, segment country=DE, 1h windows: accuracy 0.78 vs reference 0.9; ' +
        'accuracy 0.78 (expected 0.9, threshold 0.85), label coverage 62%; since 2024-01-01 00:00Z (2 of the last 3 windows). ' +
        'Next: look for concurrent data-quality alerts first',
    )
  })

  it('updates keep the id and move last_seen; the resolution says for how long it was clean', () => {
    expect(updated).toMatchObject({ alert_id: firing!.alert_id, status: 'firing', last_seen: T0 + 2 * HOUR, observed: 0.75 })
    expect(resolved).toMatchObject({
      alert_id: firing!.alert_id,
      status: 'resolved',
      severity: 'critical',
      window_start: T0 + 5 * HOUR,
      last_seen: T0 + 2 * HOUR,
    })
    // The text shows the end of the last window with a finding (last_seen is its start).
    expect(resolved!.summary).toMatch(
      /^RESOLVED performance\/accuracy on churn v7, segment country=DE, 1h windows: clean for 3 windows up to 2024-01-01 06:00Z; episode 2024-01-01 00:00Z to 2024-01-01 03:00Z, 3 windows with a finding, peak critical/,
    )
  })

  it('first_seen and last_seen are window starts, so a consumer counts the firing windows as (last_seen - first_seen) / size + 1', () => {
    // Three windows with a finding (T0, T0+1h, T0+2h): the policy's persistence and evidence gates
    // count them from these two fields and look up the window at last_seen.
    expect((updated!.last_seen - updated!.first_seen) / HOUR + 1).toBe(3)
    expect(updated!.last_seen).toBe(updated!.window_start)
  })
})
