import { z } from 'zod'
import { durationMs } from '../../../shared/config/duration.ts'
import { ConfigError, formatIssues, type ModelConfig } from '../../../shared/config/model-config.ts'
import type { AlertKind } from '../../../shared/events/types.ts'
import { PREDICTION_CLASS, PREDICTION_SCORE, PREDICTION_VALUE } from '../../../shared/records/window-metrics.ts'

// The per-model `detectors` block. Every field has a default, so `detectors:` may be left out.
// Drift is decided on effects in plain units (a mean shift in reference standard deviations, a
// share of traffic moved between categories or bins) that must both stand out of the sampling
// noise at a stated false-alarm rate and possibly reach the stated minimum effect: a p-value alone
// flags trivial shifts at production volumes, a plug-in effect size alone flags noise in small or
// sparse windows. The older per-measure levels (PSI, JS distance, KS, Cramér's V, unseen rate)
// are still read: a measure past its level also counts, when the change stands out of the noise.

/** A warning and a critical level of one measure (0 < warning <= critical). */
const levels = (warning: number, critical: number) =>
  z
    .object({ warning: z.number().positive().default(warning), critical: z.number().positive().default(critical) })
    .strict()
    .refine((l) => l.critical >= l.warning, { message: 'critical must be >= warning', path: ['critical'] })
    .prefault({})

/** Per-feature overrides: any level given replaces the default for that feature only. */
const levelOverride = z.object({ warning: z.number().positive().optional(), critical: z.number().positive().optional() }).strict()

// Calibration of the defaults: for a normal feature shifted by d standard deviations, on ten
// reference decile bins, PSI 0.2 / 0.3 is reached at d ~ 0.45 / 0.55, and so are the JS
// distance (log base 2) 0.19 / 0.23 and the KS statistic 0.18 / 0.22: the three measures agree
// on a mean shift, PSI and JS also catch a change of spread that KS barely sees. For categories,
// JS distance ~ sqrt(PSI / 5.5) and Cramér's V (reference rescaled to the window's count)
// ~ sqrt(PSI / 4), which gives the same PSI-equivalent levels.
const numericDrift = z
  .object({
    psi: levels(0.2, 0.3),
    js_distance: levels(0.19, 0.23),
    ks: levels(0.18, 0.22),
  })
  .strict()
  .prefault({})

const categoricalDrift = z
  .object({
    js_distance: levels(0.19, 0.23),
    /** Cramér's V of the reference-vs-window table, the reference rescaled to the window's count. */
    cramers_v: levels(0.22, 0.27),
    /** Share of the window's values in categories the reference never saw. */
    unseen_rate: levels(0.05, 0.2),
  })
  .strict()
  .prefault({})

/** The smallest drift worth an alert, in plain units. */
const minEffect = z
  .object({
    /** Numeric features: |window mean − reference mean| in reference standard deviations. */
    mean_shift: z.number().positive().default(0.25),
    /** Share of values moved between categories (categorical) or reference bins (numeric): total variation. */
    mix: z.number().positive().max(1).default(0.1),
  })
  .strict()
  .prefault({})

const minEffectOverride = z.object({ mean_shift: z.number().positive().optional(), mix: z.number().positive().max(1).optional() }).strict()

const featureOverride = z
  .object({
    /** Leave this feature out of drift evaluation. */
    ignore: z.boolean().default(false),
    min_effect: minEffectOverride.optional(),
    psi: levelOverride.optional(),
    js_distance: levelOverride.optional(),
    ks: levelOverride.optional(),
    cramers_v: levelOverride.optional(),
    unseen_rate: levelOverride.optional(),
  })
  .strict()

const drift = z
  .object({
    enabled: z.boolean().default(true),
    /** Drift smaller than this is not worth an alert (per-feature overrides in `features`). */
    min_effect: minEffect,
    /** Share of a stationary feature's windows that sampling noise may flag (split over its tests). */
    false_alarm_rate: z.number().positive().max(0.1).default(1e-4),
    /** Critical once the effect's lower confidence bound reaches this multiple of min_effect. */
    critical_factor: z.number().min(1).default(2),
    numeric: numericDrift,
    categorical: categoricalDrift,
    /** Also compare each window with the previous one (sudden changes inside a slow trend). */
    compare_trailing: z.boolean().default(false),
    /** Per-feature threshold overrides, by feature name (prediction pseudo-features included). */
    features: z.record(z.string(), featureOverride).default({}),
    /** Feature importance weights used to rank drifted features (missing features weigh 1). */
    importance: z.record(z.string(), z.number().nonnegative()).default({}),
    /** How many drifted features a finding lists as evidence. */
    max_evidence: z.number().int().positive().default(10),
  })
  .strict()
  .prefault({})

const performanceMetric = z.enum(['accuracy', 'f1', 'roc_auc', 'mae', 'rmse'])
export type PerformanceMetric = z.infer<typeof performanceMetric>

const performance = z
  .object({
    enabled: z.boolean().default(true),
    /** Default: accuracy for classifiers, rmse for regression. */
    metric: performanceMetric.optional(),
    /** Tolerated absolute drop of accuracy, f1 or roc_auc below the reference. */
    max_drop: levels(0.05, 0.1),
    /** Tolerated relative increase of mae or rmse above the reference (0.2 = 20 % worse). */
    max_error_increase: levels(0.2, 0.5),
    /** A window is mature for performance once this share of its predictions has a label. */
    min_label_coverage: z.number().min(0).max(1).default(0.5),
    min_labeled: z.number().int().nonnegative().default(200),
    /** z of the confidence intervals (1.96: 95 %). */
    z: z.number().positive().default(1.96),
    /** Binary classifiers: estimate accuracy from calibrated scores (CBPE) while labels are missing. */
    estimate_without_labels: z.boolean().default(true),
  })
  .strict()
  .prefault({})

const dataQuality = z
  .object({
    enabled: z.boolean().default(true),
    /** Absolute increase of a feature's null rate over the reference. */
    null_rate_increase: levels(0.05, 0.2),
    /** Share of a numeric feature's values outside the reference [min, max]. */
    out_of_range_share: levels(0.02, 0.1),
    /** Share of a categorical feature's values in categories the reference never saw. */
    unseen_category_share: levels(0.05, 0.2),
    stuck: z
      .object({
        enabled: z.boolean().default(true),
        /** Values needed before a constant feature counts as stuck. */
        min_count: z.number().int().positive().default(100),
      })
      .strict()
      .prefault({}),
    /** A configured feature with no values and no nulls in a window with volume was not sent. */
    missing_feature: z.boolean().default(true),
    /** How long after a model_version's first window its windows are checked for training-serving skew. */
    skew_window: durationMs.prefault('1d'),
  })
  .strict()
  .prefault({})

export const anomalySeries = z.enum(['volume', 'null_rate', 'prediction_mean', 'performance'])
export type AnomalySeries = z.infer<typeof anomalySeries>

const anomalyDirection = z.enum(['both', 'worse'])
export type AnomalyDirection = z.infer<typeof anomalyDirection>

/** Which changes of a series may alert: a metric getting better is not an incident. */
export const DEFAULT_ANOMALY_DIRECTION: Record<AnomalySeries, AnomalyDirection> = {
  volume: 'both',
  null_rate: 'worse',
  prediction_mean: 'both',
  performance: 'worse',
}

const anomaly = z
  .object({
    enabled: z.boolean().default(true),
    series: z.array(anomalySeries).default(['volume', 'null_rate', 'prediction_mean', 'performance']),
    /**
     * Share of a stationary series' windows that noise may flag. The critical value is Student's
     * t for the few seasonal samples there are; z.critical / z.warning is how many times further
     * out a change must be to be critical.
     */
    false_alarm_rate: z.number().positive().max(0.1).default(1e-4),
    /** 'worse' alerts only on getting worse: more nulls, lower accuracy, higher error, less volume. */
    direction: z.partialRecord(anomalySeries, anomalyDirection).default({}),
    z: levels(4, 8),
    /** Seasonal period: same hour-of-week by default. */
    seasonal_period: durationMs.prefault('1w'),
    /** Used when the history holds too few samples at the seasonal period's phase. */
    fallback_period: durationMs.prefault('1d'),
    /** Samples at the same phase needed for a baseline. */
    min_history_samples: z.number().int().min(2).default(3),
    /** Only the last this-many periods form the baseline (it follows slow trends). */
    history_periods: z.number().int().positive().default(4),
    /** Smallest change relative to the baseline median that may alert (volume, prediction mean, performance). */
    min_relative_change: z.number().nonnegative().default(0.2),
    /** Smallest absolute change of a rate (null rate) that may alert. */
    min_rate_change: z.number().nonnegative().default(0.02),
  })
  .strict()
  .prefault({})

const joinHealth = z
  .object({
    enabled: z.boolean().default(true),
    /** Labels needed in a window before its join rate is judged. */
    min_labels: z.number().int().positive().default(50),
    /** Absolute drop of the join rate below the median of the trailing windows. */
    join_rate_drop: levels(0.1, 0.3),
    /** Absolute increase of the orphan-label rate over the median of the trailing windows. */
    orphan_rate_increase: levels(0.1, 0.3),
    /** Duplicate predictions as a share of the window's predictions. */
    duplicate_share: levels(0.01, 0.05),
    /** How many trailing windows form the baseline. */
    baseline_windows: z.number().int().positive().default(24),
  })
  .strict()
  .prefault({})

const alertKind = z.enum(['drift', 'prediction_drift', 'performance', 'estimated_performance', 'data_quality', 'join_health', 'anomaly'])

/** A point in time as ms since epoch or an ISO-8601 string with a zone ('2025-11-28T00:00:00Z'). */
const instant = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value
  const ms = /([zZ]|[+-]\d\d:?\d\d)$/.test(value) ? Date.parse(value) : NaN
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: `invalid time '${value}': expected ms or ISO-8601 with a zone, e.g. 2025-11-28T00:00:00Z` })
    return z.NEVER
  }
  return ms
})

const muteWindow = z
  .object({
    from: instant,
    to: instant,
    /** Kinds muted; all kinds when left out. */
    kinds: z.array(alertKind).optional(),
    reason: z.string().optional(),
  })
  .strict()
  .refine((m) => m.to > m.from, { message: 'to must be after from', path: ['to'] })

const fireAfter = z
  .object({ n: z.number().int().positive(), m: z.number().int().positive() })
  .strict()
  .refine((f) => f.n <= f.m, { message: 'n must be <= m', path: ['n'] })

const hygiene = z
  .object({
    /** An alert fires when n of the last m evaluated windows have a finding. */
    fire_after: fireAfter.prefault({ n: 2, m: 3 }),
    /** A firing alert resolves after this many consecutive windows without a finding. */
    resolve_after: z.number().int().positive().default(3),
    mute: z.array(muteWindow).default([]),
    /** Per-kind replacements of fire_after / resolve_after (e.g. faster paging for join_health). */
    by_kind: z
      .partialRecord(alertKind, z.object({ fire_after: fireAfter.optional(), resolve_after: z.number().int().positive().optional() }).strict())
      .default({}),
  })
  .strict()
  .prefault({})

export const detectorConfigSchema = z
  .object({
    /** Predictions a window (or a feature in it) needs before drift and data quality judge it. */
    min_volume: z.number().int().nonnegative().default(200),
    drift,
    performance,
    data_quality: dataQuality,
    anomaly,
    join_health: joinHealth,
    hygiene,
  })
  .strict()
  .prefault({})

export type DetectorConfig = z.infer<typeof detectorConfigSchema>
export type Levels = { warning: number; critical: number }
export type MuteWindow = DetectorConfig['hygiene']['mute'][number]

/** The hygiene rule of one alert kind: fire after n of the last m windows, resolve after k clean ones. */
export interface HygieneRule {
  n: number
  m: number
  k: number
  mute: MuteWindow[]
}

export function hygieneFor(config: DetectorConfig, kind: AlertKind): HygieneRule {
  const h = config.hygiene
  const o = h.by_kind[kind]
  const fire = o?.fire_after ?? h.fire_after
  return { n: fire.n, m: fire.m, k: o?.resolve_after ?? h.resolve_after, mute: h.mute }
}

/**
 * Validates a model's `detectors` block. Errors name the field with `prefix` in front, e.g.
 * 'models[0].detectors.drift.numeric.psi.critical: critical must be >= warning'. When the model
 * config is given, per-feature overrides and importances must name one of its features.
 */
export function parseDetectorConfig(raw: unknown, prefix = 'detectors', model?: ModelConfig): DetectorConfig {
  const result = detectorConfigSchema.safeParse(raw ?? {})
  if (!result.success) throw new ConfigError(`invalid detector config:\n${formatIssues(result.error, prefix)}`)
  const config = result.data
  if (model) {
    const known = new Set([...model.features.numeric, ...model.features.categorical, PREDICTION_SCORE, PREDICTION_CLASS, PREDICTION_VALUE])
    const unknown = [
      ...Object.keys(config.drift.features)
        .filter((f) => !known.has(f))
        .map((f) => `${prefix}.drift.features.${f}`),
      ...Object.keys(config.drift.importance)
        .filter((f) => !known.has(f))
        .map((f) => `${prefix}.drift.importance.${f}`),
    ]
    if (unknown.length) throw new ConfigError(`invalid detector config:\n${unknown.map((p) => `${p}: not a feature of model '${model.model_id}'`).join('\n')}`)
  }
  return config
}

/** The default performance metric of a model's task. */
export function performanceMetricFor(model: ModelConfig, config: DetectorConfig): PerformanceMetric {
  return config.performance.metric ?? (model.task === 'regression' ? 'rmse' : 'accuracy')
}

type DriftMeasure = 'psi' | 'js_distance' | 'ks' | 'cramers_v' | 'unseen_rate'

/** The drift levels of one measure for one feature, per-feature overrides applied. */
export function driftLevels(config: DetectorConfig, feature: string, measure: DriftMeasure, categorical: boolean): Levels {
  const d = config.drift
  const base: Levels =
    measure === 'psi' || measure === 'ks'
      ? d.numeric[measure]
      : measure === 'js_distance'
        ? categorical
          ? d.categorical.js_distance
          : d.numeric.js_distance
        : d.categorical[measure]
  const o = d.features[feature]?.[measure]
  const warning = o?.warning ?? base.warning
  return { warning, critical: Math.max(warning, o?.critical ?? base.critical) }
}

/** The minimum effects of one feature, per-feature overrides applied. */
export function minEffectOf(config: DetectorConfig, feature: string): { mean_shift: number; mix: number } {
  const o = config.drift.features[feature]?.min_effect
  return { mean_shift: o?.mean_shift ?? config.drift.min_effect.mean_shift, mix: o?.mix ?? config.drift.min_effect.mix }
}

export function importanceOf(config: DetectorConfig, feature: string): number {
  return config.drift.importance[feature] ?? 1
}

export function isIgnored(config: DetectorConfig, feature: string): boolean {
  return config.drift.features[feature]?.ignore ?? false
}
