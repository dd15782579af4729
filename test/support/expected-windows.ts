import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import type { Emission } from './traffic.ts'

// Expected window metrics computed straight from the generated emissions, written without the
// monitor's code (brute force where possible), to check what the monitor stored in ClickHouse.

/** The key and counts every expected window has, whatever the model's task. */
export interface ExpectedWindowCounts {
  model_version: string
  segment: string
  window_size_ms: number
  window_start: number
  volume: number
  duplicate_count: number
  late_count: number
  labeled_count: number
}

export interface ExpectedWindow extends ExpectedWindowCounts {
  accuracy: number | null
  precision: number | null
  recall: number | null
  roc_auc: number | null
  log_loss: number | null
  f1: number | null
  calibration_error: number | null
  /** CBPE accuracy from every prediction's score (labels not needed). */
  estimated_accuracy: number | null
  business_value: number
  /** Label delay quantiles, linear interpolation between order statistics. */
  delay_p50: number | null
  delay_p90: number | null
  delay_p99: number | null
  closed: boolean
  x1: { count: number; nulls: number; mean: number; min: number; max: number; std: number; histogram: number[] }
  x3_nulls: number
  country: Record<string, number>
  country_unseen: number
}

export function expectedWindows(
  emissions: Emission[],
  options: {
    sizes: number[]
    latenessMs: number
    horizonMs: number
    x1Edges: number[]
    knownCountries: string[]
    segments: string[]
    costs: { true_positive: number; false_positive: number; false_negative: number; true_negative: number }
  },
): Map<string, ExpectedWindow> {
  const predictions: { event: PredictionEvent; at: number }[] = []
  const latestLabel = new Map<string, { event: LabelEvent; at: number }>()
  for (const e of emissions) {
    if (e.kind === 'prediction') predictions.push({ event: e.event, at: e.at })
    else if (e.kind === 'label') {
      const seen = latestLabel.get(e.event.prediction_id)
      if (!seen || e.event.label_time > seen.event.label_time || (e.event.label_time === seen.event.label_time && e.at >= seen.at))
        latestLabel.set(e.event.prediction_id, { event: e.event, at: e.at })
    }
  }
  const out = new Map<string, ExpectedWindow>()
  for (const size of options.sizes) {
    // First arrival of each prediction in each window; every further copy there is a duplicate.
    const first = new Map<string, { event: PredictionEvent; at: number; copies: number }>()
    for (const p of predictions) {
      const key = `${p.event.event_time - (p.event.event_time % size)}|${p.event.prediction_id}`
      const seen = first.get(key)
      if (seen) seen.copies++
      else first.set(key, { ...p, copies: 0 })
    }
    const groups = new Map<string, { version: string; segment: string; start: number; members: { event: PredictionEvent; at: number; copies: number }[] }>()
    for (const p of first.values()) {
      const start = p.event.event_time - (p.event.event_time % size)
      const segs = ['all', ...options.segments.filter((s) => p.event.segments[s] !== undefined).map((s) => `${s}=${p.event.segments[s]}`)]
      for (const segment of segs) {
        const key = `${p.event.model_version}|${segment}|${size}|${start}`
        const g = groups.get(key) ?? { version: p.event.model_version, segment, start, members: [] }
        g.members.push(p)
        groups.set(key, g)
      }
    }
    for (const [key, g] of groups) {
      // Close time: first Kafka arrival among predictions stamped in [end + lateness, end + lateness + size).
      const from = g.start + size + options.latenessMs
      let closeTs: number | null = null
      for (const p of predictions) {
        if (p.event.event_time >= from && p.event.event_time < from + size && (closeTs === null || p.at < closeTs)) closeTs = p.at
      }
      let tp = 0,
        fp = 0,
        fn = 0,
        tn = 0,
        labeled = 0,
        logSum = 0
      const pos: number[] = []
      const neg: number[] = []
      const delays: number[] = []
      const scored: { s: number; actual: boolean }[] = []
      let expTp = 0,
        expFp = 0,
        expFn = 0,
        expTn = 0
      const x1: number[] = []
      let x1Nulls = 0,
        x3Nulls = 0
      const country: Record<string, number> = {}
      for (const m of g.members) {
        const v = m.event.numeric_features.x1
        if (v === null || v === undefined) x1Nulls++
        else x1.push(v)
        if (m.event.numeric_features.x3 === null) x3Nulls++
        const c = m.event.categorical_features.country
        if (c) country[c] = (country[c] ?? 0) + 1
        const score = m.event.prediction.scores['1']!
        // CBPE splits by the class the model predicted (here the producer's own).
        if (m.event.prediction.predicted_class === '1') {
          expTp += score
          expFp += 1 - score
        } else {
          expFn += score
          expTn += 1 - score
        }
        const l = latestLabel.get(m.event.prediction_id)
        if (!l || Math.abs(l.event.label_time - m.event.event_time) > options.horizonMs) continue
        labeled++
        delays.push(l.event.label_time - m.event.event_time)
        const actual = l.event.label_class === '1'
        const said = m.event.prediction.predicted_class === '1'
        if (actual && said) tp++
        else if (actual) fn++
        else if (said) fp++
        else tn++
        const s = m.event.prediction.scores['1']!
        ;(actual ? pos : neg).push(s)
        scored.push({ s, actual })
        const clipped = Math.min(Math.max(s, 1e-15), 1 - 1e-15)
        logSum += actual ? -Math.log(clipped) : -Math.log(1 - clipped)
      }
      let pairs = 0
      for (const a of pos) for (const b of neg) pairs += a > b ? 1 : a === b ? 0.5 : 0
      const mean = x1.reduce((s, v) => s + v, 0) / x1.length
      delays.sort((a, b) => a - b)
      const quantile = (p: number): number | null => {
        if (delays.length === 0) return null
        const h = (delays.length - 1) * p
        const lo = Math.floor(h)
        return lo + 1 < delays.length ? delays[lo]! + (h - lo) * (delays[lo + 1]! - delays[lo]!) : delays[lo]!
      }
      // Calibration error over ten equal-width score bins.
      let ece = 0
      for (let b = 0; b < 10; b++) {
        const inBin = scored.filter(({ s }) => Math.min(9, Math.floor(s * 10)) === b)
        if (inBin.length === 0) continue
        const meanScore = inBin.reduce((t, x) => t + x.s, 0) / inBin.length
        const rate = inBin.filter((x) => x.actual).length / inBin.length
        ece += (inBin.length / scored.length) * Math.abs(meanScore - rate)
      }
      const precision = tp + fp ? tp / (tp + fp) : 0
      const recall = tp + fn ? tp / (tp + fn) : 0
      const histogram = new Array(options.x1Edges.length + 1).fill(0) as number[]
      for (const v of x1) {
        let i = 0
        while (i < options.x1Edges.length && v >= options.x1Edges[i]!) i++
        histogram[i]!++
      }
      out.set(key, {
        model_version: g.version,
        segment: g.segment,
        window_size_ms: size,
        window_start: g.start,
        volume: g.members.length,
        duplicate_count: g.members.reduce((s, m) => s + m.copies, 0),
        late_count: closeTs === null ? 0 : g.members.filter((m) => m.at > closeTs!).length,
        labeled_count: labeled,
        accuracy: labeled ? (tp + tn) / labeled : null,
        precision: labeled ? (tp + fp ? tp / (tp + fp) : 0) : null,
        recall: labeled ? (tp + fn ? tp / (tp + fn) : 0) : null,
        roc_auc: pos.length && neg.length ? pairs / (pos.length * neg.length) : null,
        log_loss: labeled ? logSum / labeled : null,
        f1: labeled ? (precision + recall ? (2 * precision * recall) / (precision + recall) : 0) : null,
        calibration_error: scored.length ? ece : null,
        estimated_accuracy: g.members.length ? (expTp + expTn) / (expTp + expFp + expFn + expTn) : null,
        business_value:
          tp * options.costs.true_positive + fp * options.costs.false_positive + fn * options.costs.false_negative + tn * options.costs.true_negative,
        delay_p50: quantile(0.5),
        delay_p90: quantile(0.9),
        delay_p99: quantile(0.99),
        closed: closeTs !== null,
        x1: {
          count: x1.length,
          nulls: x1Nulls,
          mean,
          min: Math.min(...x1),
          max: Math.max(...x1),
          std: Math.sqrt(x1.reduce((s, v) => s + (v - mean) ** 2, 0) / x1.length),
          histogram,
        },
        x3_nulls: x3Nulls,
        country,
        country_unseen: Object.entries(country)
          .filter(([c]) => !options.knownCountries.includes(c))
          .reduce((s, [, n]) => s + n, 0),
      })
    }
  }
  return out
}
