import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { durationMs } from './duration.ts'

// Per-model configuration, shared by the monitor and the policy service. Each service validates
// its own block (`detectors`, `policy`) with its own schema, so this file knows nothing of them.

const costMatrix = z
  .object({
    true_positive: z.number().default(0),
    false_positive: z.number().default(0),
    false_negative: z.number().default(0),
    true_negative: z.number().default(0),
    /** Regression: value lost per unit of absolute error. */
    per_unit_abs_error: z.number().default(0),
  })
  .strict()

export const modelConfigSchema = z
  .object({
    model_id: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, dot, dash and underscore'),
    task: z.enum(['binary_classification', 'multiclass_classification', 'regression']),
    /** Binary classification: the class whose score is the model's score (e.g. '1', 'fraud'). */
    positive_class: z.string().optional(),
    /** Classes for classification (order used for confusion matrices). */
    classes: z.array(z.string()).optional(),
    /** Binary classification: the score from which the model predicts the positive class, used
     *  when an event carries scores but no predicted class (and so by CBPE for those events). */
    decision_threshold: z.number().min(0).max(1).default(0.5),
    features: z
      .object({
        numeric: z.array(z.string().min(1)).default([]),
        categorical: z.array(z.string().min(1)).default([]),
      })
      .strict(),
    /** JSON reference profile (training baseline), relative to the config file. */
    reference_profile: z.string().optional(),
    windows: z.array(durationMs).min(1).prefault(['1h']),
    /** Segment attributes to window by (values come from PredictionEvent.segments). */
    segments: z.array(z.string().min(1)).default([]),
    allowed_lateness: durationMs.prefault('10m'),
    label_horizon: durationMs.prefault('30d'),
    /** A label whose prediction has not arrived this long after the label is an orphan. */
    orphan_after: durationMs.prefault('1h'),
    /** A label whose prediction is not stored yet counts against the join rate only this long
     *  after it arrived; before that it is pending (its prediction may be behind it on a lagging
     *  predictions topic, or sent within seconds of it). At most orphan_after. */
    join_grace: durationMs.prefault('5m'),
    /** Predictions may not be further in the future than this (clock skew allowance). */
    max_future_skew: durationMs.prefault('5m'),
    /** Distinct values a categorical feature keeps per window and segment: the most frequent
     *  ones; the rest are counted together under OVERFLOW_CATEGORY. */
    max_category_values: z.number().int().min(1).max(10_000).default(100),
    /** Distinct values a segment attribute keeps per window (the most frequent; the others
     *  form the segment 'attribute=__other__'). */
    max_segment_values: z.number().int().min(1).max(10_000).default(100),
    cost_matrix: costMatrix.optional(),
    detectors: z.unknown().optional(),
    policy: z.unknown().optional(),
  })
  .strict()
  .superRefine((model, ctx) => {
    if (model.task === 'binary_classification' && !model.positive_class) {
      ctx.addIssue({ code: 'custom', path: ['positive_class'], message: 'required for binary_classification' })
    }
    if (model.task !== 'regression' && (!model.classes || model.classes.length < 2)) {
      ctx.addIssue({ code: 'custom', path: ['classes'], message: 'list at least two classes for a classification model' })
    }
    if (model.join_grace > model.orphan_after) {
      ctx.addIssue({
        code: 'custom',
        path: ['join_grace'],
        message: `join_grace (${model.join_grace} ms) must not exceed orphan_after (${model.orphan_after} ms)`,
      })
    }
    const names = [...model.features.numeric, ...model.features.categorical]
    const dup = names.find((name, i) => names.indexOf(name) !== i)
    if (dup) ctx.addIssue({ code: 'custom', path: ['features'], message: `feature '${dup}' is listed twice` })
  })

export const driftgateConfigSchema = z
  .object({
    models: z.array(modelConfigSchema).min(1),
  })
  .strict()
  .superRefine((config, ctx) => {
    const ids = config.models.map((m) => m.model_id)
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) ctx.addIssue({ code: 'custom', path: ['models', i, 'model_id'], message: `duplicate model_id '${id}'` })
    })
  })

export type ModelConfig = z.infer<typeof modelConfigSchema>
export type DriftgateConfig = z.infer<typeof driftgateConfigSchema> & { baseDir: string }

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Formats zod issues as 'models[0].windows[1]: invalid duration ...' lines. */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.reduce<string>(
        (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
        prefix,
      )
      return `${path || '(root)'}: ${issue.message}`
    })
    .join('\n')
}

/** Validates an already-parsed config object; throws ConfigError naming every bad field. */
export function parseDriftgateConfig(raw: unknown, baseDir: string): DriftgateConfig {
  const result = driftgateConfigSchema.safeParse(raw)
  if (!result.success) throw new ConfigError(`invalid driftgate config:\n${formatIssues(result.error)}`)
  return { ...result.data, baseDir }
}

/** Loads a YAML or JSON config file. */
export function loadDriftgateConfig(path: string): DriftgateConfig {
  const text = readFileSync(path, 'utf8')
  let raw: unknown
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (error) {
    throw new ConfigError(`cannot parse ${path}: ${(error as Error).message}`)
  }
  return parseDriftgateConfig(raw, dirname(resolve(path)))
}
