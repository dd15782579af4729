import { describe, expect, it } from 'vitest'
import {
  combineVersions,
  decodeEvaluation,
  encodeEvaluation,
  foldEpisodes,
  initialEpisodeState,
  sequenceFor,
} from '../../../services/monitor/core/alerts/alert-episodes.ts'
import { hygieneFor } from '../../../services/monitor/core/detectors/detector-config.ts'
import { evaluateWindow } from '../../../services/monitor/core/detectors/evaluate-window.ts'
import type { JoinHealth, WindowSnapshot } from '../../../services/monitor/core/detectors/finding.ts'
import { detectPerformance, hanleyMcNeilSe } from '../../../services/monitor/core/detectors/performance.detector.ts'
import type { ClassificationPerformance } from '../../../services/shared/records/window-metrics.ts'
import { confusionCells, confusionCount } from '../../../services/shared/stats/classification.ts'
import { HOUR, T0, detectorConfig, emptyReference, input, modelConfig, prng, summary, windowKey } from './synthetic.ts'

const model = modelConfig()
const reference = emptyReference({ performance: { accuracy: 0.9, roc_auc: 0.85, labeled_count: 20_000 } })
const Z = 1.96

/** Draws `labeled` labels of a binary classifier with the given accuracy; returns the confusion matrix metrics. */
function classification(seed: number, labeled: number, accuracy: number): ClassificationPerformance {
  const rand = prng(seed)
  const m = [
    [0, 0],
    [0, 0],
  ]
  for (let i = 0; i < labeled; i++) {
    const truth = rand() < 0.4 ? 1 : 0
    const predicted = rand() < accuracy ? truth : 1 - truth
    m[truth]![predicted]!++
  }
  const correct = m[0]![0]! + m[1]![1]!
  const tp = m[1]![1]!
  const precision = tp / (tp + m[0]![1]!)
  const recall = tp / (tp + m[1]![0]!)
  return {
    accuracy: correct / labeled,
    precision,
    recall,
    f1: (2 * precision * recall) / (precision + recall),
    log_loss: null,
    roc_auc: null,
    calibration_error: null,
    classes: ['0', '1'],
    confusion: confusionCells(m),
  }
}

function window(volume: number, labeled: number, c: ClassificationPerformance | null, estimated: number | null = null, start = T0): WindowSnapshot {
  return {
    summary: summary(windowKey(start), { volume, labeled_count: labeled, label_coverage: labeled / volume, classification: c, estimated_accuracy: estimated }),
    features: [],
  }
}

/** Wilson score interval, written out here independently of the stats library. */
function wilson(s: number, n: number): [number, number] {
  const p = s / n
  const d = 1 + (Z * Z) / n
  const c = (p + (Z * Z) / (2 * n)) / d
  const h = (Z * Math.sqrt((p * (1 - p)) / n + (Z * Z) / (4 * n * n))) / d
  return [c - h, c + h]
}

describe('performance detector', () => {
  const config = detectorConfig()

  it('an immature window (label coverage below the minimum) gives no performance finding, and says why', () => {
    const result = detectPerformance(input(model, config, reference, window(10_000, 2_000, classification(1, 2_000, 0.7))))
    expect(result.findings.filter((f) => f.kind === 'performance')).toEqual([])
    expect(result.skipped[0]).toEqual({ detector: 'performance', subject: 'accuracy', reason: 'immature: label coverage 20% < 50%' })
    // Not a clean window either: the accuracy was not judged. The CBPE estimate was (none given here: no estimate
    // in the window, so that is not judged either).
    expect(result.not_judged).toEqual([
      { kind: 'performance', subject: 'accuracy', reason: 'immature: label coverage 20% < 50%' },
      { kind: 'estimated_performance', subject: 'accuracy', reason: 'no estimate (volume 10000, min_volume 200)' },
    ])
    const estimated = detectPerformance(input(model, config, reference, window(10_000, 2_000, classification(1, 2_000, 0.7), 0.89)))
    expect(estimated.not_judged).toEqual([{ kind: 'performance', subject: 'accuracy', reason: 'immature: label coverage 20% < 50%' }])
    // A mature window judges the accuracy (no drop here) and leaves nothing unjudged.
    expect(detectPerformance(input(model, config, reference, window(5_000, 4_000, classification(4, 4_000, 0.9)))).not_judged).toEqual([])
  })

  it('immature windows neither extend nor resolve a performance alert: it resolves after k mature clean windows', () => {
    // Stored and read back as the monitor does: evaluateWindow -> findings_json -> fold.
    const plan: ['bad' | 'immature' | 'fine', number][] = [
      ['bad', 2],
      ['bad', 3],
      ['immature', 11],
      ['immature', 12],
      ['immature', 13],
      ['fine', 14],
      ['immature', 15],
      ['fine', 16],
      ['fine', 17],
    ]
    const evaluations = plan.map(([kind, seed], i) => {
      const start = T0 + i * HOUR
      const w =
        kind === 'bad'
          ? window(5_000, 4_000, classification(seed, 4_000, 0.8), null, start)
          : kind === 'fine'
            ? window(5_000, 4_000, classification(seed, 4_000, 0.9), null, start)
            : window(10_000, 500, classification(seed, 500, 0.7), 0.89, start)
      const result = evaluateWindow(input(model, config, reference, w))
      return combineVersions(start, [decodeEvaluation(encodeEvaluation({ findings: result.findings, not_judged: result.not_judged }))])
    })
    const identity = { model_id: 'churn', kind: 'performance' as const, subject: 'accuracy', segment: 'all', window_size_ms: HOUR }
    const seq = sequenceFor(identity, evaluations)
    expect(seq.map((w) => (w.finding ? 'x' : w.not_judged ? '?' : '.')).join('')).toBe('xx???.?..')
    const rule = hygieneFor(config, 'performance')
    expect([rule.n, rule.m, rule.k]).toEqual([2, 3, 3])
    const { transitions } = foldEpisodes(initialEpisodeState(identity), seq, rule)
    // Fires at window 1; the three clean windows are 5, 7 and 8, so it resolves at 8 (not at window 4,
    // as it would if immature windows counted as clean), its last finding still window 1.
    expect(transitions.map((t) => [t.status, (t.window_start - T0) / HOUR])).toEqual([
      ['firing', 1],
      ['resolved', 8],
    ])
    expect(transitions[1]).toMatchObject({ first_seen: T0, last_seen: T0 + HOUR, clean_windows: 3 })
  })

  it('a mature window with a real drop gives a finding whose interval matches an independent Newcombe computation', () => {
    const c = classification(2, 4_000, 0.8)
    const { findings } = detectPerformance(input(model, config, reference, window(5_000, 4_000, c)))
    expect(findings).toHaveLength(1)
    const f = findings[0]!
    expect([f.kind, f.subject, f.estimated]).toEqual(['performance', 'accuracy', false])
    expect(f.observed).toBeCloseTo(c.accuracy, 12)
    expect(f.expected).toBe(0.9)
    expect(f.threshold).toBeCloseTo(0.85, 12)
    expect(f.label_coverage).toBe(0.8)
    // Newcombe (hybrid Wilson) interval of p_ref - p_window: low = d - sqrt((p1 - l1)^2 + (u2 - p2)^2).
    const correct = confusionCount(c.confusion, 2, 0, 0) + confusionCount(c.confusion, 2, 1, 1)
    const [l1] = wilson(18_000, 20_000)
    const [, u2] = wilson(correct, 4_000)
    const p2 = correct / 4_000
    const low = 0.9 - p2 - Math.sqrt((0.9 - l1) ** 2 + (u2 - p2) ** 2)
    expect(low).toBeGreaterThan(0.05)
    expect(f.evidence.find((e) => e.name === 'interval')!.score).toBeCloseTo(low, 9)
  })

  it('a mature window whose drop is inside the interval noise gives no finding', () => {
    // Point drop ~0.07 > tolerance 0.05, but with 300 labels the interval reaches well below it.
    const c = classification(3, 300, 0.83)
    const drop = 0.9 - c.accuracy
    expect(drop).toBeGreaterThan(0.05)
    const [, u2] = wilson(Math.round(c.accuracy * 300), 300)
    expect(0.9 - u2).toBeLessThan(0.05)
    const result = detectPerformance(input(model, config, reference, window(400, 300, c)))
    expect(result.findings).toEqual([])
    expect(result.skipped).toEqual([])
  })

  it('a mature window without drop gives no finding', () => {
    expect(detectPerformance(input(model, config, reference, window(5_000, 4_000, classification(4, 4_000, 0.9)))).findings).toEqual([])
  })

  it('roc_auc uses the Hanley-McNeil interval', () => {
    const cfg = detectorConfig({ performance: { metric: 'roc_auc' } })
    const c = { ...classification(5, 3_000, 0.8), roc_auc: 0.75 }
    const { findings } = detectPerformance(input(model, cfg, reference, window(3_000, 3_000, c)))
    const nPos = confusionCount(c.confusion, 2, 1, 0) + confusionCount(c.confusion, 2, 1, 1)
    const nNeg = 3_000 - nPos
    const q1 = 0.75 / 1.25
    const q2 = (2 * 0.75 * 0.75) / 1.75
    const se = Math.sqrt((0.75 * 0.25 + (nPos - 1) * (q1 - 0.5625) + (nNeg - 1) * (q2 - 0.5625)) / (nPos * nNeg))
    expect(hanleyMcNeilSe(0.75, nPos, nNeg)).toBeCloseTo(se, 12)
    expect(findings).toHaveLength(1)
    expect(findings[0]!.evidence.find((e) => e.name === 'interval')!.score).toBeCloseTo(0.85 - (0.75 + Z * se), 12)
  })

  it('regression rmse: alerts only when the lower bound of the error is above the tolerated increase', () => {
    const reg = modelConfig({ task: 'regression', positive_class: undefined, classes: undefined })
    const ref = emptyReference({ performance: { rmse: 1.0 } })
    const w = (rmse: number, n: number): WindowSnapshot => ({
      summary: summary(windowKey(T0), { volume: n, labeled_count: n, label_coverage: 1, regression: { mae: rmse * 0.8, rmse, mape: null, bias: 0 } }),
      features: [],
    })
    const bad = detectPerformance(input(reg, config, ref, w(1.5, 1_000))).findings
    expect(bad.map((f) => [f.subject, f.severity])).toEqual([['rmse', 'warning']])
    // 1.5 - 1.96 * 1.5 / sqrt(2000) = 1.434: +43 % over the reference, above 20 %, below 50 %.
    expect(bad[0]!.evidence.find((e) => e.name === 'interval')!.score).toBeCloseTo(1.5 - (Z * 1.5) / Math.sqrt(2000) - 1, 12)
    expect(detectPerformance(input(reg, config, ref, w(1.25, 250))).findings).toEqual([])
  })

  it('an unlabeled binary window with a low CBPE estimate gives an estimated_performance finding', () => {
    const { findings, skipped } = detectPerformance(input(model, config, reference, window(5_000, 0, null, 0.75)))
    expect(skipped[0]!.reason).toMatch(/immature/)
    expect(findings.map((f) => [f.kind, f.subject, f.estimated, f.label_coverage])).toEqual([['estimated_performance', 'accuracy', true, 0]])
  })

  it('a join-health finding in the window suppresses its performance findings, and says so', () => {
    const w = window(5_000, 4_000, classification(2, 4_000, 0.8))
    const healthy = (start: number): JoinHealth => ({
      model_id: 'churn',
      window_size_ms: HOUR,
      window_start: start,
      labels_received: 1000,
      labels_joined: 980,
      labels_pending: 0,
      orphan_labels: 5,
      duplicate_predictions: 0,
      predictions: 5000,
    })
    const joinHistory = Array.from({ length: 24 }, (_, h) => healthy(T0 - (24 - h) * HOUR))
    const clean = evaluateWindow(input(model, config, reference, w, [], { join_health: healthy(T0), join_history: joinHistory }))
    expect(clean.findings.map((f) => f.kind)).toEqual(['performance'])
    expect(clean.suppressed).toBeNull()
    const broken = { ...healthy(T0), labels_joined: 500, orphan_labels: 450 }
    const result = evaluateWindow(input(model, config, reference, w, [], { join_health: broken, join_history: joinHistory }))
    expect(result.findings.map((f) => [f.kind, f.subject])).toEqual([
      ['join_health', 'join_rate'],
      ['join_health', 'orphan_labels'],
    ])
    expect(result.suppressed!.findings.map((f) => f.kind)).toEqual(['performance'])
    expect(result.suppressed!.reason).toBe('join health: join_rate, orphan_labels')
    // Dropped, the performance finding does not make the window clean: accuracy was not judged.
    expect(result.not_judged.filter((n) => n.kind === 'performance')).toEqual([
      { kind: 'performance', subject: 'accuracy', reason: 'join health: join_rate, orphan_labels' },
    ])
    expect(clean.not_judged.filter((n) => n.kind === 'performance')).toEqual([])
  })
})
