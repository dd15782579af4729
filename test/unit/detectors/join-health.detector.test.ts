import { describe, expect, it } from 'vitest'
import type { JoinHealth } from '../../../services/monitor/core/detectors/finding.ts'
import { detectJoinHealth } from '../../../services/monitor/core/detectors/join-health.detector.ts'
import { HOUR, T0, detectorConfig, windowKey } from './synthetic.ts'
import { evidenceQueries } from '../../../services/monitor/store/evidence-sql.ts'

const config = detectorConfig()
const counters = (start: number, c: Partial<JoinHealth> = {}): JoinHealth => ({
  model_id: 'churn',
  window_size_ms: HOUR,
  window_start: start,
  labels_received: 1_000,
  labels_joined: 980,
  labels_pending: 0,
  orphan_labels: 5,
  duplicate_predictions: 0,
  predictions: 5_000,
  ...c,
})
// 24 trailing windows: join rate 0.98 each, so the baseline median is 0.98.
const history = Array.from({ length: 24 }, (_, h) => counters(T0 - (24 - h) * HOUR))
const judge = (current: JoinHealth, trailing = history) => detectJoinHealth(evidenceQueries('driftgate'), config, windowKey(T0), current, trailing)

describe('join health', () => {
  it('a label feed that stopped joining is critical once its labels are past the grace', () => {
    const result = judge(counters(T0, { labels_joined: 100 }))
    const f = result.findings.find((x) => x.subject === 'join_rate')!
    expect(f.severity).toBe('critical')
    expect(f.observed).toBe(100 / 1_000)
    expect(f.expected).toBe(0.98)
    expect(f.evidence[0]!.detail).toBe('100 of 1000 labels joined')
    expect(result.suppress_performance).toBe(true)
  })

  it('labels read before their predictions (pending) are not counted as failed joins', () => {
    // The predictions consumer lags: every label of the window is stored, none joined yet. Counted
    // as failures, this was a join rate of 0 against 0.98.
    const lagging = judge(counters(T0, { labels_joined: 0, labels_pending: 1_000 }))
    expect(lagging.findings).toEqual([])
    expect(lagging.suppress_performance).toBe(false)
    expect(lagging.not_judged).toContainEqual({
      kind: 'join_health',
      subject: 'join_rate',
      reason: '0 labels < min_labels 50 (1000 more pending: not joined yet, first seen less than join_grace ago)',
    })
    // Partly caught up: 600 joined, 350 pending, 50 past the grace without a prediction. The
    // rate judged is 600 / 650 (a drop of 0.057, under the 0.1 warning), not 600 / 1000.
    const partly = judge(counters(T0, { labels_joined: 600, labels_pending: 350 }))
    expect(partly.findings.filter((f) => f.subject === 'join_rate')).toEqual([])
    expect(partly.not_judged ?? []).not.toContainEqual(expect.objectContaining({ subject: 'join_rate' }))
    // The same window with 300 of its 350 pending labels past the grace and unjoined: 600 / 950.
    const failing = judge(counters(T0, { labels_joined: 600, labels_pending: 50 })).findings.find((f) => f.subject === 'join_rate')!
    expect(failing.observed).toBeCloseTo(600 / 950, 12)
    expect(failing.severity).toBe('critical')
    expect(failing.evidence[0]!.detail).toBe('600 of 950 labels joined (50 pending)')
  })

  it('trailing windows whose labels are mostly pending do not enter the baseline', () => {
    // Older windows judged at 0.98, the recent ones still pending (joined 0 of 1000, 990 pending):
    // counted, they would pull the median down to 0.5 and hide a broken feed.
    const trailing = history.map((h, i) => (i >= 12 ? { ...h, labels_joined: 0, labels_pending: 990 } : h))
    const f = judge(counters(T0, { labels_joined: 500 }), trailing).findings.find((x) => x.subject === 'join_rate')!
    expect(f.expected).toBe(0.98)
    expect(f.evidence[0]!.detail).toBe('500 of 1000 labels joined')
  })
})
