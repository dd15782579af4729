import { ALL_SEGMENTS } from '../../../shared/records/window-metrics.ts'
import { outcome, type DecisionContext, type GateOutcome, type WindowFacts } from '../decision-context.ts'
import type { PolicyConfig } from '../policy-config.ts'
import { describeAlert, firingShifts, num, pct, weightedMean } from './gate-helpers.ts'

// Gate 3b. Cold-start segments (new users, new merchants) have no history, so they drift by
// nature. When the shift lives only there, or when the overall metric moved because the mix of
// segments changed (more new users) rather than because the model got worse within each
// segment, a global retrain fixes nothing: the answer is a segment-specific one.

export interface SegmentShare {
  segment: string
  reference_share: number
  current_share: number
  reference_metric: number
  current_metric: number
}

export interface MixDecomposition {
  attribute: string
  metric: string
  reference: number
  current: number
  /** current - reference = mix + within. */
  change: number
  /** Σ (w'_s - w_s) · m_s: what the new mix alone would have done at the old metrics. */
  mix: number
  /** Σ w'_s · (m'_s - m_s): what changed inside the segments. */
  within: number
  segments: SegmentShare[]
}

/** The metric compared across segments: the performance alert's own metric if labeled
 *  values exist, else accuracy, else the label-free CBPE estimate. */
function chooseMetric(
  context: DecisionContext,
  windows: WindowFacts[],
): { name: string; value: (w: WindowFacts) => number | null; weight: (w: WindowFacts) => number } {
  const perf = context.episode.alerts.find((a) => a.kind === 'performance' && !a.estimated)
  const candidates = [perf?.subject, 'accuracy'].filter((m): m is string => !!m)
  for (const name of candidates) {
    if (windows.some((w) => w.labeled_count > 0 && w.metrics[name] != null)) {
      return { name, value: (w) => w.metrics[name] ?? null, weight: (w) => w.labeled_count }
    }
  }
  return { name: 'estimated_accuracy', value: (w) => w.estimated_accuracy, weight: (w) => w.volume }
}

/** Shift-share split of the metric change over the segments of one attribute. */
export function decomposeMix(context: DecisionContext, attribute: string, referenceMs: number): MixDecomposition | null {
  const cp = context.episode.change_point
  const windows = context.windows.filter((w) => w.segment.startsWith(`${attribute}=`))
  if (windows.length === 0) return null
  const metric = chooseMetric(context, windows)
  const ref = windows.filter((w) => w.window_start < cp && w.window_start >= cp - referenceMs)
  const cur = windows.filter((w) => w.window_start >= cp)
  const names = [...new Set(windows.map((w) => w.segment))].sort()
  const volume = (ws: WindowFacts[]): number => ws.reduce((s, w) => s + w.volume, 0)
  const refTotal = volume(ref)
  const curTotal = volume(cur)
  if (refTotal === 0 || curTotal === 0) return null
  const segments: SegmentShare[] = []
  for (const segment of names) {
    const r = ref.filter((w) => w.segment === segment)
    const c = cur.filter((w) => w.segment === segment)
    const rm = weightedMean(r, metric.value, metric.weight)
    const cm = weightedMean(c, metric.value, metric.weight)
    // A segment without a metric on both sides cannot be split honestly.
    if (rm === null || cm === null) return null
    segments.push({ segment, reference_share: volume(r) / refTotal, current_share: volume(c) / curTotal, reference_metric: rm, current_metric: cm })
  }
  const reference = segments.reduce((s, x) => s + x.reference_share * x.reference_metric, 0)
  const current = segments.reduce((s, x) => s + x.current_share * x.current_metric, 0)
  const mix = segments.reduce((s, x) => s + (x.current_share - x.reference_share) * x.reference_metric, 0)
  const within = segments.reduce((s, x) => s + x.current_share * (x.current_metric - x.reference_metric), 0)
  return { attribute, metric: metric.name, reference, current, change: current - reference, mix, within, segments }
}

export function segmentGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  const coldStart = policy.segments.cold_start
  const shifts = firingShifts(context)
  const evidence = ['windows']

  // Confined: every firing shift alert is on a cold-start segment, none on the rollup or elsewhere.
  if (shifts.length > 0 && shifts.every((a) => coldStart.includes(a.segment))) {
    const where = [...new Set(shifts.map((a) => a.segment))].join(', ')
    return outcome(
      'segment',
      'hold',
      'cold_start_segment_drift',
      `The shift is confined to the cold-start segment ${where} (${shifts.map(describeAlert).join('; ')}); the rest of the traffic is stable. Entities without history drift by nature: improve cold-start handling for ${where} (a dedicated model, a fallback or more weight for it) instead of retraining the global model.`,
      { evidence, facts: { confined_to: where } },
    )
  }

  const attributes = [...new Set(coldStart.map((s) => s.split('=')[0]!))]
  const splits = attributes.map((a) => decomposeMix(context, a, policy.reference_period)).filter((d): d is MixDecomposition => d !== null)
  for (const d of splits) {
    const grown = d.segments.filter((s) => coldStart.includes(s.segment) && s.current_share > s.reference_share)
    const mixShare = Math.abs(d.change) > 1e-12 && Math.sign(d.mix) === Math.sign(d.change) ? d.mix / d.change : 0
    if (grown.length > 0 && mixShare >= policy.segments.mix_share) {
      const growth = grown.map((s) => `${s.segment} grew from ${pct(s.reference_share)} to ${pct(s.current_share)} of traffic`).join(', ')
      return outcome(
        'segment',
        'hold',
        'segment_mix_shift',
        `${d.metric} moved ${num(d.change)} (${num(d.reference)} to ${num(d.current)}); the change of segment mix explains ${num(d.mix)} (${pct(mixShare)}): ${growth}; within the ${d.attribute} segments it moved ${num(d.within)}. The model is not worse on the same population, so a global retrain would not help: handle the cold-start segment instead.`,
        { evidence, facts: { metric: d.metric, change: d.change, mix: d.mix, within: d.within, mix_share: mixShare } },
      )
    }
  }

  const split = splits[0]
  const detail = split
    ? ` Split by ${split.attribute}: ${split.metric} moved ${num(split.change)}, of which ${num(split.mix)} from the segment mix and ${num(split.within)} within segments.`
    : ''
  const scope = shifts.some((a) => a.segment === ALL_SEGMENTS) ? 'the whole traffic' : 'segments beyond the cold-start ones'
  return outcome('segment', 'pass', 'not_segment_confined', `The shift affects ${scope}.${detail}`, {
    evidence,
    facts: split ? { metric: split.metric, change: split.change, mix: split.mix, within: split.within } : {},
  })
}
