import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PredictionEvent } from '../../services/shared/events/types.ts'
import { parseDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { buildReferenceProfile } from '../../services/monitor/core/reference/build-reference.ts'
import { normal, prng, type Emission } from './traffic.ts'

export const FEATURES = Array.from({ length: 10 }, (_, i) => `f${i}`)
export const HOUR = 3_600_000

export interface HourPlan {
  /** Predictions in this hour. */
  count: number
  /** Mean shift (in standard deviations) per feature. */
  shift?: Record<string, number>
  /** Share of null values per feature. */
  nulls?: Record<string, number>
}

function prediction(rand: () => number, modelId: string, id: string, eventTime: number, plan: HourPlan): PredictionEvent {
  const numeric: Record<string, number | null> = {}
  for (const f of FEATURES) {
    numeric[f] = rand() < (plan.nulls?.[f] ?? 0) ? null : normal(rand, plan.shift?.[f] ?? 0, 1)
  }
  const score = 1 / (1 + Math.exp(-(numeric.f0 ?? 0)))
  return {
    prediction_id: id,
    model_id: modelId,
    model_version: 'v1',
    event_time: eventTime,
    numeric_features: numeric,
    categorical_features: {},
    prediction: { predicted_class: score >= 0.5 ? '1' : '0', scores: { '0': 1 - score, '1': score }, value: null },
    segments: {},
  }
}

/** Predictions hour by hour following a plan; each sent within seconds of its event time. */
export function plannedTraffic(seed: number, modelId: string, start: number, plan: HourPlan[]): Emission[] {
  const rand = prng(seed)
  const out: Emission[] = []
  plan.forEach((hour, h) => {
    for (let i = 0; i < hour.count; i++) {
      const t = start + h * HOUR + Math.floor(rand() * HOUR)
      out.push({ kind: 'prediction', at: t + Math.floor(rand() * 5_000), event: prediction(rand, modelId, `${modelId}-${seed}-${h}-${i}`, t, hour) })
    }
  })
  return out.sort((a, b) => a.at - b.at)
}

/** Config file (1h windows, ten numeric features) with a reference profile built from a stationary baseline. */
export function writeDetectorModelConfig(modelId: string, detectorsYaml = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'driftgate-det-'))
  const yaml = `models:
  - model_id: ${modelId}
    task: binary_classification
    positive_class: "1"
    classes: ["0", "1"]
    features:
      numeric: [${FEATURES.join(', ')}]
    reference_profile: reference.json
    windows: [1h]
    allowed_lateness: 5m
${detectorsYaml}`
  const path = join(dir, 'driftgate.yaml')
  writeFileSync(path, yaml)
  const config = parseDriftgateConfig(
    { models: [{ model_id: modelId, task: 'binary_classification', positive_class: '1', classes: ['0', '1'], features: { numeric: FEATURES } }] },
    dir,
  )
  const rand = prng(99)
  const baseline = Array.from({ length: 20_000 }, (_, i) => prediction(rand, modelId, `b${i}`, 0, { count: 0 }))
  writeFileSync(join(dir, 'reference.json'), JSON.stringify(buildReferenceProfile(config.models[0]!, baseline, [], { source: 'test baseline', now: 0 })))
  return path
}
