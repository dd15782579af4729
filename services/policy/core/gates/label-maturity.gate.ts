import { outcome, type DecisionContext, type GateOutcome, type WindowFacts } from '../decision-context.ts'
import type { PolicyConfig } from '../policy-config.ts'
import { human, iso, median, num, pct, segmentWindows, windowsSinceChange } from './gate-helpers.ts'

// Gate 2. Labels arrive late. Judging (and training) on the few labels that came back fast
// means retraining on a biased, stale sample: wait until enough labeled predictions from after
// the change point exist, and say when that is expected from the pace labels arrive at.

export interface LabelMaturity {
  fresh_labels: number
  mature_windows: number
  required_windows: number
  /** Latest window since the change point whose coverage reached the threshold. */
  latest_mature: WindowFacts | null
}

/** Counts shared with decide() (training_data_to is the end of the latest mature window). */
export function labelMaturity(context: DecisionContext, policy: PolicyConfig): LabelMaturity {
  const since = windowsSinceChange(context)
  const mature = since.filter((w) => w.label_coverage >= policy.min_label_coverage && w.labeled_count > 0)
  return {
    fresh_labels: since.reduce((sum, w) => sum + w.labeled_count, 0),
    mature_windows: mature.length,
    required_windows: policy.persistence_windows,
    latest_mature: mature.at(-1) ?? null,
  }
}

/**
 * Rough label delay for a window to reach `coverage`: the observed median p50 delay for up to
 * half the labels, the p90 delay beyond. It assumes windows end up (nearly) fully labeled;
 * the message says it is an estimate.
 */
function delayFor(context: DecisionContext, coverage: number): number | null {
  const all = segmentWindows(context, 'all')
  const p50 = median(all.flatMap((w) => (w.label_delay_p50_ms === null ? [] : [w.label_delay_p50_ms])))
  const p90 = median(all.flatMap((w) => (w.label_delay_p90_ms === null ? [] : [w.label_delay_p90_ms])))
  return coverage <= 0.5 ? (p50 ?? p90) : (p90 ?? p50)
}

export function labelMaturityGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  const m = labelMaturity(context, policy)
  const evidence = ['windows', 'label_rate']
  const facts = {
    fresh_labels: m.fresh_labels,
    min_fresh_labels: policy.min_fresh_labels,
    mature_windows: m.mature_windows,
    required_windows: m.required_windows,
  }
  const enoughLabels = m.fresh_labels >= policy.min_fresh_labels
  const enoughWindows = m.mature_windows >= m.required_windows
  if (enoughLabels && enoughWindows) {
    return outcome(
      'label_maturity',
      'pass',
      'labels_mature',
      `${m.fresh_labels} labeled predictions since the change point (${iso(context.episode.change_point)}), at least ${policy.min_fresh_labels} needed; ${m.mature_windows} windows have at least ${pct(policy.min_label_coverage)} labels (${m.required_windows} needed).`,
      { evidence, facts },
    )
  }

  const problems: string[] = []
  const etas: number[] = []
  const basis: string[] = []
  let unknown = false
  if (!enoughLabels) {
    const missing = policy.min_fresh_labels - m.fresh_labels
    problems.push(`only ${m.fresh_labels} labeled predictions since the change point (${iso(context.episode.change_point)}), ${policy.min_fresh_labels} needed`)
    const rate = context.label_rate_per_hour
    if (rate !== null && rate > 0) {
      etas.push(context.as_of + Math.ceil((missing / rate) * 3_600_000))
      basis.push(`${num(rate, 1)} labels/h joined lately`)
    } else unknown = true
  }
  if (!enoughWindows) {
    const since = windowsSinceChange(context)
    const immature = since.filter((w) => !(w.label_coverage >= policy.min_label_coverage && w.labeled_count > 0))
    const latest = since.at(-1)
    const coverage = latest ? ` (latest window ${iso(latest.window_start)}: ${pct(latest.label_coverage)})` : ''
    problems.push(
      `${m.mature_windows} of the ${m.required_windows} windows needed have at least ${pct(policy.min_label_coverage)} of their predictions labeled${coverage}`,
    )
    // The k-th window still missing matures at its end plus the label delay; windows that do
    // not exist yet are extrapolated from the window size.
    const k = m.required_windows - m.mature_windows
    const size = context.window_size_ms
    const lastStart = latest?.window_start ?? context.episode.change_point - size
    const candidateEnds = [...immature.map((w) => w.window_end)]
    for (let i = 1; candidateEnds.length < k; i++) candidateEnds.push(lastStart + size * i + size)
    const end = candidateEnds[k - 1]!
    const delay = delayFor(context, policy.min_label_coverage)
    if (delay !== null) {
      etas.push(end + delay)
      basis.push(`a label delay of about ${human(delay)} (observed ${policy.min_label_coverage <= 0.5 ? 'p50' : 'p90'})`)
    } else unknown = true
  }

  const eta = !unknown && etas.length > 0 ? Math.max(...etas, context.as_of) : null
  const when =
    eta === null
      ? 'When enough labels will be there cannot be estimated yet (no label rate or delay observed).'
      : `Enough labels are expected around ${iso(eta)} (in about ${human(eta - context.as_of)}), from ${basis.join(' and ')}.`
  return outcome(
    'label_maturity',
    'hold',
    enoughLabels ? 'label_coverage_below_threshold' : 'too_few_fresh_labels',
    `Waiting for labels: ${problems.join('; ')}. ${when}`,
    { evidence, facts: { ...facts, labels_expected_at: eta }, ...(eta === null ? {} : { retry_at: eta }) },
  )
}
