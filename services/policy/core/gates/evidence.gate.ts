import type { MonitorTrigger } from '../../../shared/events/types.ts'
import { outcome, type DecisionContext, type GateOutcome, type WindowFacts } from '../decision-context.ts'
import type { PolicyConfig } from '../policy-config.ts'
import { evidenceFactor } from '../retrain-outcome.ts'
import { HIGHER_IS_WORSE, describeAlert, firingRun, num, pct, referenceWindows, segmentWindows, weightedMean, windowsSinceChange } from './gate-helpers.ts'

// Gate 4b. What justifies a retrain: a labeled performance drop seen in N consecutive windows
// that each had enough labels, or sustained drift in features that matter together with a drop
// of the label-free performance estimate. Drift that does not hurt the model is not a reason.

/** Performance drop in the bad direction (error metrics rise). */
export function performanceDrop(alert: MonitorTrigger): number {
  return HIGHER_IS_WORSE.has(alert.subject) ? alert.observed - alert.expected : alert.expected - alert.observed
}

/** Lowest coverage over the last `n` windows of the alert (null when a window is missing). */
function lowestCoverage(context: DecisionContext, alert: MonitorTrigger, n: number): number | null {
  const windows = segmentWindows(context, alert.segment)
  let lowest = Infinity
  for (let i = 0; i < n; i++) {
    const start = alert.last_seen - i * alert.window_size_ms
    const w = windows.find((x) => x.window_start === start)
    if (!w) return null
    lowest = Math.min(lowest, w.label_coverage)
  }
  return lowest
}

export function evidenceGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  const n = policy.persistence_windows
  const rules = policy.evidence
  const firing = context.episode.alerts.filter((a) => a.status === 'firing')
  const evidence = ['windows']

  // Kinds of evidence whose earlier retrains did not help need more this time.
  const perfNeed = evidenceFactor(context.history.retrain_outcomes, 'performance_drop')
  const driftNeed = evidenceFactor(context.history.retrain_outcomes, 'drift_with_estimated_drop')
  const stronger = (need: { factor: number; unhelpful: number }, what: string): string =>
    need.unhelpful > 0
      ? ` (${need.factor}x the usual ${what}: ${need.unhelpful} earlier retrain${need.unhelpful === 1 ? '' : 's'} on this evidence did not help)`
      : ''
  const perfRun = n * perfNeed.factor
  const perf = firing.filter((a) => a.kind === 'performance' && !a.estimated && firingRun(a) >= perfRun && performanceDrop(a) >= rules.min_performance_drop)
  const covered = perf.map((alert) => ({ alert, coverage: lowestCoverage(context, alert, n) }))
  const weaker = firing.filter((a) => a.kind === 'performance' && !a.estimated && firingRun(a) >= n && firingRun(a) < perfRun)
  const labeled = covered.find((c) => c.coverage !== null && c.coverage >= policy.min_label_coverage)
  if (labeled) {
    const a = labeled.alert
    return outcome(
      'evidence',
      'pass',
      'performance_drop',
      `${describeAlert(a)}: ${a.subject} went from ${num(a.expected)} to ${num(a.observed)} (drop ${num(performanceDrop(a))}) for ${firingRun(a)} consecutive windows${stronger(perfNeed, `${n} windows`)}, each with at least ${pct(policy.min_label_coverage)} labels (lowest ${pct(labeled.coverage!)}).`,
      { evidence, facts: { drop: performanceDrop(a), lowest_coverage: labeled.coverage } },
    )
  }

  // The monitor's drift alert is about 'features' and ranks the drifted ones in its evidence.
  const drifted = (a: MonitorTrigger): string[] => [a.subject, ...a.evidence.map((e) => e.name)]
  const important = (a: MonitorTrigger): boolean => rules.important_features.length === 0 || drifted(a).some((f) => rules.important_features.includes(f))
  const drift = firing.filter((a) => a.kind === 'drift' && firingRun(a) >= n && important(a))
  const names = (alerts: MonitorTrigger[]): string =>
    [...new Set(alerts.flatMap((a) => (a.evidence.length > 0 ? a.evidence.map((e) => e.name) : [a.subject])))].join(', ')
  const estimatedAlert = firing.find((a) => a.kind === 'estimated_performance' || (a.kind === 'performance' && a.estimated))
  const refEst = weightedMean(
    referenceWindows(context, policy.reference_period),
    (w) => w.estimated_accuracy,
    (w) => w.volume,
  )
  const curEst = weightedMean(
    windowsSinceChange(context),
    (w) => w.estimated_accuracy,
    (w) => w.volume,
  )
  const estDrop = refEst !== null && curEst !== null ? refEst - curEst : null
  const facts = { estimated_drop: estDrop, drifted_features: drift.length }
  const minEstimated = rules.min_estimated_drop * driftNeed.factor
  // After an unhelpful retrain on this evidence, an estimated_performance alert alone is not enough.
  const estimateBacks = (estimatedAlert && driftNeed.unhelpful === 0) || (estDrop !== null && estDrop >= minEstimated)
  if (drift.length > 0 && estimateBacks) {
    const calibrated = stillCalibrated(context, policy)
    if (calibrated) {
      return outcome(
        'evidence',
        'hold',
        'label_shift',
        `Drift in ${names(drift)} with a lower estimated accuracy, but ${calibrated.windows} labeled windows since the change point show the model still calibrated (calibration error ${num(calibrated.current)} vs ${num(calibrated.reference)} before, within ${num(rules.calibration_tolerance)}; labeled accuracy ${calibrated.accuracy_before === null || calibrated.accuracy_now === null ? 'unknown' : `${num(calibrated.accuracy_before)} to ${num(calibrated.accuracy_now)}`}). The mix of inputs or classes moved, not how inputs map to outcomes: its scores are still the probabilities, so a retrain cannot beat it, and accuracy fell because the new mix is harder. What can pay is the decision threshold: check it is still the one the cost matrix calls for at the new class mix.`,
        { evidence, facts: { ...facts, calibration_error: calibrated.current, reference_calibration_error: calibrated.reference } },
      )
    }
    const why = estimatedAlert
      ? `${describeAlert(estimatedAlert)} (${num(estimatedAlert.expected)} to ${num(estimatedAlert.observed)})`
      : `estimated accuracy fell ${num(estDrop!)} (${num(refEst!)} to ${num(curEst!)}), at least ${num(minEstimated)} needed${stronger(driftNeed, 'drop')}`
    return outcome(
      'evidence',
      'pass',
      'drift_with_estimated_drop',
      `Sustained drift in ${names(drift)} for at least ${n} windows, together with a drop of estimated performance: ${why}.`,
      { evidence, facts },
    )
  }

  if (perf.length > 0) {
    const c = covered[0]!
    return outcome(
      'evidence',
      'hold',
      'performance_windows_unlabeled',
      `${describeAlert(c.alert)} is sustained, but its last ${n} windows do not all have ${pct(policy.min_label_coverage)} labels (lowest ${c.coverage === null ? 'unknown' : pct(c.coverage)}): wait until they do.`,
      { evidence, facts },
    )
  }
  const driftText =
    drift.length > 0
      ? `drift in ${names(drift)} is sustained but estimated accuracy ${estDrop === null ? 'is unknown' : `moved only ${num(estDrop)} (< ${num(minEstimated)}${stronger(driftNeed, 'drop')})`}`
      : rules.important_features.length > 0
        ? `no sustained drift in the important features (${rules.important_features.join(', ')})`
        : 'no sustained drift'
  return outcome(
    'evidence',
    'suppress',
    'no_retrain_evidence',
    `No evidence that the model got worse: no sustained labeled performance drop${weaker.length > 0 ? ` over ${perfRun} windows${stronger(perfNeed, `${n} windows`)}` : ''}, and ${driftText}. A shift that does not hurt the model is not worth a retrain.`,
    { evidence, facts },
  )
}

/**
 * Labeled windows since the change point (enough of them, each with enough labels) whose
 * calibration error stays within the tolerance of the reference period's: the model's scores
 * still mean what they meant. Null when labels cannot tell yet or the model is miscalibrated.
 */
function stillCalibrated(
  context: DecisionContext,
  policy: PolicyConfig,
): { windows: number; current: number; reference: number; accuracy_before: number | null; accuracy_now: number | null } | null {
  const labeled = (w: WindowFacts): boolean => w.label_coverage >= policy.min_label_coverage && w.metrics.calibration_error != null
  const since = windowsSinceChange(context).filter(labeled)
  const before = referenceWindows(context, policy.reference_period).filter(labeled)
  if (since.length < policy.persistence_windows || before.length === 0) return null
  const error = (w: WindowFacts): number | null => w.metrics.calibration_error ?? null
  const weight = (w: WindowFacts): number => w.labeled_count
  const current = weightedMean(since, error, weight)
  const reference = weightedMean(before, error, weight)
  if (current === null || reference === null || current - reference > policy.evidence.calibration_tolerance) return null
  const accuracy = (w: WindowFacts): number | null => w.metrics.accuracy ?? null
  return {
    windows: since.length,
    current,
    reference,
    accuracy_before: weightedMean(before, accuracy, weight),
    accuracy_now: weightedMean(since, accuracy, weight),
  }
}
