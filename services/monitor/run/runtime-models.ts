import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { DriftgateConfig } from '../../shared/config/model-config.ts'
import { ConfigError } from '../../shared/config/model-config.ts'
import type { ReferenceProfile } from '../../shared/records/reference-profile.ts'
import { buildRuntimeModel, type RuntimeModel } from '../core/runtime-model.ts'

export function loadReferenceProfile(path: string): ReferenceProfile {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ReferenceProfile
  } catch (error) {
    throw new ConfigError(`cannot read reference profile ${path}: ${(error as Error).message}`)
  }
}

export function loadRuntimeModels(config: DriftgateConfig): Map<string, RuntimeModel> {
  return new Map(
    config.models.map((model, i) => {
      const reference = model.reference_profile ? loadReferenceProfile(resolve(config.baseDir, model.reference_profile)) : null
      return [model.model_id, buildRuntimeModel(model, reference, `models[${i}].detectors`)]
    }),
  )
}
