import { createHash } from 'node:crypto'
import { z } from 'zod'
import { durationMs } from '../../shared/config/duration.ts'
import { ConfigError, formatIssues, type DriftgateConfig } from '../../shared/config/model-config.ts'

// The per-model `policy` block. Defaults lean towards not retraining: a retrain has to be earned
// by evidence that is persistent, backed by enough fresh labels and worth its cost.

const DAY_MS = 86_400_000

/** '2026-11-27' or an ISO date-time with zone, or ms since epoch. */
const instant = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : Date.parse(value)
  if (!Number.isFinite(ms) || (typeof value === 'string' && !/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(value))) {
    ctx.addIssue({ code: 'custom', message: `invalid date '${String(value)}': expected YYYY-MM-DD, an ISO date-time with zone, or ms` })
    return z.NEVER
  }
  return { ms, dateOnly: typeof value === 'string' && value.length === 10 }
})

const segmentName = z.string().regex(/^[^=\s]+=[^=]+$/, "use 'attribute=value', e.g. 'new_entity=true'")

const calendarEntry = z
  .object({
    name: z.string().min(1),
    from: instant,
    /** Inclusive; a bare date means the end of that day (UTC). */
    to: instant,
    /** hold: no retrain on data shaped by the event; annotate: note it and go on. */
    action: z.enum(['hold', 'annotate']).default('hold'),
    /** Only these segments are affected; absent means the whole traffic. */
    segments: z.array(segmentName).optional(),
  })
  .strict()
  .transform((entry) => ({
    name: entry.name,
    from: entry.from.ms,
    to: entry.to.dateOnly ? entry.to.ms + DAY_MS - 1 : entry.to.ms,
    action: entry.action,
    segments: entry.segments,
  }))
  .refine((entry) => entry.to >= entry.from, { message: 'to is before from' })

const ALERT_KINDS = ['drift', 'prediction_drift', 'performance', 'estimated_performance', 'data_quality', 'join_health', 'anomaly'] as const

export const policyConfigSchema = z
  .object({
    /** Written into every decision, so an audit can tell which rules decided. */
    policy_version: z.string().min(1).default('1'),
    /** Retrain decisions wait for a human over the approval API. */
    require_approval: z.boolean().default(false),
    /** Alerts whose first window lies within this of an open episode's change point are the same
     *  change and join that episode; a later onset opens an episode of its own, even while an
     *  older alert (e.g. of a cold-start segment) keeps firing. */
    episode_window: durationMs.prefault('1d'),
    /** Decisions are taken per step of data time: the triggers the monitor derived within a step
     *  are applied together and each episode they touch is decided once, as of the step's end,
     *  when the monitor has finished that data. */
    decision_interval: durationMs.refine((ms) => ms >= 1000, 'must be at least 1s').prefault('1h'),
    /** Consecutive firing windows before a shift counts as sustained (a 1-window spike is noise). */
    persistence_windows: z.number().int().min(1).default(3),
    /** Labeled share a window needs before its performance numbers are trusted. */
    min_label_coverage: z.number().min(0).max(1).default(0.3),
    /** Labeled predictions after the change point, needed both to judge and to train on. */
    min_fresh_labels: z.number().int().min(0).default(500),
    cooldown: durationMs.prefault('7d'),
    max_retrains: z.number().int().min(0).default(2),
    period: durationMs.prefault('30d'),
    /** How much history before the change point is the baseline (value, segment mix). */
    reference_period: durationMs.prefault('7d'),
    evidence: z
      .object({
        /** Minimum drop of the performance metric (expected - observed, error metrics reversed). */
        min_performance_drop: z.number().min(0).default(0),
        /** Features whose sustained drift counts as evidence; empty means every feature. */
        important_features: z.array(z.string().min(1)).default([]),
        /** Drop of CBPE-estimated accuracy (reference minus since the change point) that backs drift. */
        min_estimated_drop: z.number().min(0).default(0.02),
        /** Rise of the calibration error (labeled windows since the change point over the
         *  reference period) below which the model counts as still calibrated: then drift with an
         *  estimated drop is a shift of inputs or class prior, which a retrain cannot fix. */
        calibration_tolerance: z.number().min(0).default(0.03),
      })
      .strict()
      .prefault({}),
    root_cause: z
      .object({
        /** Any alert of these kinds around the change point means the data may be flawed. */
        blocking_kinds: z.array(z.enum(ALERT_KINDS)).default(['data_quality', 'join_health']),
        /** Anomaly alerts on these subjects block too (a volume anomaly: traffic lost or duplicated). */
        anomaly_subjects: z.array(z.string().min(1)).default(['volume']),
        /** Subjects starting with this prefix report a schema change (any kind). */
        schema_subject_prefix: z.string().min(1).default('schema'),
        min_severity: z.enum(['info', 'warning', 'critical']).default('warning'),
        /** How far before the change point a concurrent alert still counts. */
        lookback: durationMs.prefault('1d'),
        /** A shift starting this soon after a model_version went live points at the deploy. */
        post_deploy_window: durationMs.prefault('6h'),
      })
      .strict()
      .prefault({}),
    /** Cost of one retrain, in the unit of the business-value metric. */
    cost: z
      .object({
        compute: z.number().min(0).default(0),
        storage: z.number().min(0).default(0),
        evaluation: z.number().min(0).default(0),
      })
      .strict()
      .prefault({}),
    benefit: z
      .object({
        /** How long a retrained model is expected to earn back the lost value. */
        horizon: durationMs.prefault('30d'),
        /** Share of the lost value a retrain is expected to win back. */
        expected_recovery: z.number().min(0).max(1).default(0.5),
        /** Retrain only when benefit >= cost * min_ratio. */
        min_ratio: z.number().min(0).default(1),
        /** What to do when the model has no business-value metric (no cost matrix). */
        when_unknown: z.enum(['retrain', 'hold']).default('retrain'),
      })
      .strict()
      .prefault({}),
    /** Spending cap over `period` (sum of retrain costs); absent means no cap. */
    max_cost_per_period: z.number().min(0).optional(),
    calendar: z.array(calendarEntry).default([]),
    segments: z
      .object({
        /** Cold-start segments (new users, new merchants): drift there calls for a segment fix. */
        cold_start: z.array(segmentName).default(['new_entity=true']),
        /** A drop explained at least this much by the change of segment mix is a mix shift. */
        mix_share: z.number().min(0).max(1).default(0.6),
      })
      .strict()
      .prefault({}),
  })
  .strict()

export type PolicyConfig = z.infer<typeof policyConfigSchema>
export type CalendarEntry = PolicyConfig['calendar'][number]

/** Validates one model's policy block; errors name the field under `prefix`. */
export function parsePolicyConfig(raw: unknown, prefix = 'policy'): PolicyConfig {
  const result = policyConfigSchema.safeParse(raw ?? {})
  if (!result.success) throw new ConfigError(`invalid policy config:\n${formatIssues(result.error, prefix)}`)
  return result.data
}

/** The policy of every configured model, validated up front so a bad block stops the start. */
export function loadPolicies(config: Pick<DriftgateConfig, 'models'>): Map<string, PolicyConfig> {
  const problems: string[] = []
  const policies = new Map<string, PolicyConfig>()
  config.models.forEach((model, i) => {
    const result = policyConfigSchema.safeParse(model.policy ?? {})
    if (result.success) policies.set(model.model_id, result.data)
    else problems.push(formatIssues(result.error, `models[${i}].policy`))
  })
  if (problems.length > 0) throw new ConfigError(`invalid policy config:\n${problems.join('\n')}`)
  return policies
}

/** Short hash of the parsed policy: decisions made under different rules get different ids
 *  even when someone forgot to bump policy_version. */
export function policyFingerprint(policy: PolicyConfig): string {
  return createHash('sha256').update(stableJson(policy)).digest('hex').slice(0, 16)
}

export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** The shortest decision interval of these policies: the data-time step a monitor feeding them
 *  computes windows in, so that each decision step sees whole steps (MONITOR_STEP_MS). */
export function decisionStep(policies: Map<string, PolicyConfig>): number {
  const intervals = [...policies.values()].map((p) => p.decision_interval)
  return intervals.length > 0 ? Math.min(...intervals) : 0
}
