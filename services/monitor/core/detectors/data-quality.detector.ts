import { errorFunction } from 'simple-statistics'
import type { Severity } from '../../../shared/events/types.ts'
import type { NumericReference } from '../../../shared/records/reference-profile.ts'
import type { NumericStats, WindowKey } from '../../../shared/records/window-metrics.ts'
import type { Levels } from './detector-config.ts'
import { describeDrift, measureDrift, rankDrifted, referencePairs } from './drift.detector.ts'
import { fmt, pct, severityOf, worseSeverity, type DetectorInput, type DetectorResult, type Finding, type NotJudged, type Skip } from './finding.ts'
import { runbookHint } from '../alerts/runbooks.ts'

// Data quality of the model's input features, one finding per check (subject) listing the
// features concerned, worst first: null_rate, out_of_range, stuck, category_overflow,
// unseen_categories, missing_feature and training_serving_skew (drift of a new model_version's first windows
// against the reference: serving computes a feature differently from training).

interface Item {
  feature: string
  value: number
  expected: number
  severity: Severity
  threshold: number
  detail: string
}

function checkFinding(key: WindowKey, subject: string, measure: string, what: string, items: Item[], query: string): Finding {
  const ranked = [...items].sort((a, b) => b.value - a.value || (a.feature < b.feature ? -1 : 1))
  const top = ranked[0]!
  const listed = ranked.slice(0, 10)
  return {
    key,
    kind: 'data_quality',
    subject,
    severity: ranked.reduce<Severity>((s, i) => worseSeverity(s, i.severity), 'warning'),
    measure,
    observed: top.value,
    expected: top.expected,
    threshold: top.threshold,
    evidence: listed.map((i) => ({ name: i.feature, score: i.value, detail: i.detail })),
    label_coverage: null,
    estimated: false,
    summary: `${what} in ${ranked.length} feature${ranked.length > 1 ? 's' : ''}: ${listed.map((i) => `${i.feature} (${i.detail})`).join(', ')}${ranked.length > listed.length ? `, +${ranked.length - listed.length} more` : ''}`,
    runbook: runbookHint('data_quality', subject),
    evidence_query: query,
  }
}

function item(feature: string, value: number, expected: number, levels: Levels, detail: string): Item | null {
  const severity = severityOf(value, levels)
  return severity ? { feature, value, expected, severity, threshold: levels.warning, detail } : null
}

/** P(X > x) for X ~ N(mean, std); a point mass at the mean when std is 0. */
function normalTail(x: number, mean: number, std: number): number {
  if (std === 0) return mean > x ? 1 : 0
  return 0.5 * (1 - errorFunction((x - mean) / (std * Math.SQRT2)))
}

/**
 * Share of the window's values outside the reference [min, max]. The window stores no exact count,
 * so it is estimated per side. A side where the window's min/max stays inside the range counts 0
 * (exact). Otherwise the values beyond sit in that side's outer histogram bucket, which on
 * reference quantile bins also holds the reference's outer 1/k: its excess over the reference
 * share is an upper estimate (exact when the outer edge is the reference min or max itself), but
 * a plain shift inflates it too; the normal tail beyond the range from the window's mean and std
 * is the other estimate. The smaller of the two is kept, so a shift is not reported as values out
 * of range, while a unit or scale change is.
 */
export function outOfRangeShare(window: NumericStats, ref: NumericReference): { share: number; estimated: boolean } | null {
  const h = window.histogram
  const e = window.bin_edges
  const rh = ref.histogram
  const { count, min, max, mean, std } = window
  if (
    count === 0 ||
    min === null ||
    max === null ||
    mean === null ||
    std === null ||
    !e.length ||
    h.length !== e.length + 1 ||
    rh.length !== h.length ||
    ref.count === 0
  )
    return null
  const last = h.length - 1
  let share = 0
  let estimated = false
  if (min < ref.min) {
    const excess = Math.max(0, h[0]! / count - rh[0]! / ref.count)
    if (e[0]! <= ref.min) share += excess
    else {
      share += Math.min(excess, normalTail(-ref.min, -mean, std))
      estimated = true
    }
  }
  if (max > ref.max) {
    const excess = Math.max(0, h[last]! / count - rh[last]! / ref.count)
    if (e[last - 1]! >= ref.max) share += excess
    else {
      share += Math.min(excess, normalTail(ref.max, mean, std))
      estimated = true
    }
  }
  return { share, estimated }
}

/** Start of the current version's first window when it is known to be recent, else null. */
export function versionFirstWindow(input: DetectorInput): number | null {
  if (input.version_first_window_start != null) return input.version_first_window_start
  const key = input.current.summary.key
  let first = key.window_start
  for (const h of input.history) if (h.summary.key.model_version === key.model_version) first = Math.min(first, h.summary.key.window_start)
  // Only a window of another version before it proves that `first` is where this version started.
  const proven = input.history.some((h) => h.summary.key.model_version !== key.model_version && h.summary.key.window_start < first)
  return proven ? first : null
}

export function detectDataQuality(input: DetectorInput): DetectorResult {
  const { config, model, reference, current } = input
  const key = current.summary.key
  const dq = config.data_quality
  const findings: Finding[] = []
  const skipped: Skip[] = []
  const notJudged: NotJudged[] = []
  if (!dq.enabled) return { findings, skipped }
  const volume = current.summary.volume
  const stats = new Map(current.features.map((f) => [f.feature, f]))
  const numeric = model.features.numeric
  const categorical = model.features.categorical

  // Missing features and type changes: judged whenever the window has predictions.
  if (dq.missing_feature && volume > 0) {
    const missing: Item[] = []
    for (const [feature, isNumeric] of [...numeric.map((f) => [f, true] as const), ...categorical.map((f) => [f, false] as const)]) {
      const s = stats.get(feature)
      const shape = isNumeric ? s?.numeric : s?.categorical
      const refOtherType = isNumeric ? reference?.categorical[feature] : reference?.numeric[feature]
      if (!s || !shape)
        missing.push({ feature, value: 1, expected: 0, severity: 'critical', threshold: 0, detail: `no ${isNumeric ? 'numeric' : 'categorical'} statistics` })
      else if (shape.count === 0 && shape.nulls === 0)
        missing.push({
          feature,
          value: 1,
          expected: 0,
          severity: 'critical',
          threshold: 0,
          detail: `not sent in ${volume} predictions (missing or another type)`,
        })
      else if (refOtherType)
        missing.push({
          feature,
          value: 1,
          expected: 0,
          severity: 'critical',
          threshold: 0,
          detail: `configured ${isNumeric ? 'numeric' : 'categorical'}, reference profiles it as ${isNumeric ? 'categorical' : 'numeric'}`,
        })
    }
    if (missing.length)
      findings.push(
        checkFinding(
          key,
          'missing_feature',
          'missing_features',
          'features not sent',
          missing,
          input.evidence.featureStats(
            key,
            missing.map((m) => m.feature),
            ['kind', 'count', 'nulls'],
            24,
          ),
        ),
      )
  }

  // The checks below that cannot run in this window: their subjects were not judged. Skew is
  // only checked while the version is recent; after that its windows count as clean.
  const versionStart = versionFirstWindow(input)
  const checksSkew = versionStart !== null && key.window_start - versionStart < dq.skew_window
  const unjudged = (subjects: string[], reason: string): DetectorResult => {
    skipped.push({ detector: 'data_quality', subject: 'features', reason })
    for (const subject of subjects) notJudged.push({ kind: 'data_quality', subject, reason })
    return { findings, skipped, not_judged: notJudged }
  }
  const referenceChecks = ['null_rate', 'out_of_range', 'unseen_categories', ...(checksSkew ? ['training_serving_skew'] : [])]

  if (volume < config.min_volume)
    return unjudged([...(dq.stuck.enabled ? ['stuck'] : []), ...referenceChecks], `window volume ${volume} < min_volume ${config.min_volume}`)

  // Stuck: a constant numeric feature with volume (needs no reference).
  if (dq.stuck.enabled) {
    const stuck: Item[] = []
    for (const feature of numeric) {
      const n = stats.get(feature)?.numeric
      const refStd = reference?.numeric[feature]?.std
      if (!n || n.count < dq.stuck.min_count || n.std === null || n.std !== 0 || refStd === 0) continue
      stuck.push({
        feature,
        value: 0,
        expected: refStd ?? 0,
        severity: refStd ? 'critical' : 'warning',
        threshold: 0,
        detail: `constant ${fmt(n.min ?? 0)} over ${n.count} values${refStd ? `, reference std ${fmt(refStd)}` : ''}`,
      })
    }
    if (stuck.length)
      findings.push(
        checkFinding(
          key,
          'stuck',
          'std',
          'stuck values',
          stuck,
          input.evidence.featureStats(
            key,
            stuck.map((s) => s.feature),
            ['count', 'min', 'max', 'std'],
            24,
          ),
        ),
      )
  }

  // More distinct values than max_category_values: the excess is counted under __other__ (needs
  // no reference; any overflow is worth a look, it is never what a category should do).
  const overflow: Item[] = []
  for (const feature of categorical) {
    const c = stats.get(feature)?.categorical
    if (!c || c.overflow_values === 0 || c.count === 0) continue
    const share = c.overflow_count / c.count
    overflow.push({
      feature,
      value: share,
      expected: 0,
      severity: 'warning',
      threshold: 0,
      detail: `${c.overflow_values} values past the ${c.categories.length - 1} kept, ${pct(share)} of events`,
    })
  }
  if (overflow.length)
    findings.push(
      checkFinding(
        key,
        'category_overflow',
        'overflow_share',
        'more distinct values than max_category_values',
        overflow,
        input.evidence.featureStats(
          key,
          overflow.map((o) => o.feature),
          ['count', 'categories', 'category_counts', 'overflow_values', 'overflow_count'],
          24,
        ),
      ),
    )

  if (!reference) return unjudged(referenceChecks, 'no reference profile: null rate, range, unseen categories and skew not checked')

  const nulls: Item[] = []
  for (const feature of [...numeric, ...categorical]) {
    const s = stats.get(feature)
    const shape = s?.numeric ?? s?.categorical
    const ref = reference.numeric[feature] ?? reference.categorical[feature]
    if (!shape || !ref || shape.count + shape.nulls === 0) continue
    const rate = shape.nulls / (shape.count + shape.nulls)
    const found = item(feature, rate - ref.null_rate, ref.null_rate, dq.null_rate_increase, `null rate ${pct(rate)} vs ${pct(ref.null_rate)}`)
    if (found) nulls.push(found)
  }
  if (nulls.length)
    findings.push(
      checkFinding(
        key,
        'null_rate',
        'null_rate_increase',
        'null-rate spike',
        nulls,
        input.evidence.nullRate(
          key,
          nulls.map((n) => n.feature),
          24,
        ),
      ),
    )

  const range: Item[] = []
  for (const feature of numeric) {
    const n = stats.get(feature)?.numeric
    const ref = reference.numeric[feature]
    if (!n || !ref) continue
    const out = outOfRangeShare(n, ref)
    const found =
      out &&
      item(
        feature,
        out.share,
        0,
        dq.out_of_range_share,
        `${out.estimated ? '~' : ''}${pct(out.share)} outside [${fmt(ref.min)}, ${fmt(ref.max)}], window [${fmt(n.min!)}, ${fmt(n.max!)}]`,
      )
    if (found) range.push(found)
  }
  if (range.length)
    findings.push(
      checkFinding(
        key,
        'out_of_range',
        'out_of_range_share',
        'values out of the reference range',
        range,
        input.evidence.featureStats(
          key,
          range.map((r) => r.feature),
          ['count', 'min', 'max', 'bin_edges', 'histogram'],
          24,
        ),
      ),
    )

  const unseen: Item[] = []
  for (const feature of categorical) {
    const c = stats.get(feature)?.categorical
    if (!c || c.count === 0 || !reference.categorical[feature]) continue
    const share = c.unseen / c.count
    const known = new Set(reference.categorical[feature]!.categories)
    const examples = c.categories.filter((v) => !known.has(v)).slice(0, 3)
    const found = item(
      feature,
      share,
      0,
      dq.unseen_category_share,
      `${pct(share)} unseen${examples.length ? `, e.g. ${examples.map((v) => JSON.stringify(v)).join(', ')}` : ''}`,
    )
    if (found) unseen.push(found)
  }
  if (unseen.length)
    findings.push(
      checkFinding(
        key,
        'unseen_categories',
        'unseen_category_share',
        'unseen categories',
        unseen,
        input.evidence.featureStats(
          key,
          unseen.map((u) => u.feature),
          ['count', 'categories', 'category_counts', 'unseen'],
          24,
        ),
      ),
    )

  if (checksSkew) {
    const ranked = rankDrifted(config, measureDrift(config, referencePairs(reference, current.features, false)).drifts)
    const skew = ranked.map<Item>((d) => ({
      feature: d.feature,
      value: d.effect,
      expected: 0,
      severity: d.severity ?? 'warning',
      threshold: 1,
      detail: describeDrift(d),
    }))
    if (skew.length)
      findings.push(
        checkFinding(
          key,
          'training_serving_skew',
          'drift_effect',
          `training-serving skew (${key.model_version} since ${new Date(versionStart).toISOString()})`,
          skew,
          input.evidence.featureStats(
            key,
            skew.map((s) => s.feature),
            ['count', 'nulls', 'mean', 'std', 'bin_edges', 'histogram', 'categories', 'category_counts'],
            24,
          ),
        ),
      )
  }
  return { findings, skipped, not_judged: notJudged }
}
