import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateScenario, SCENARIO_MODEL } from '../../../scenario/scenario.ts'
import { writeScenarioConfig } from '../../../scenario/scenario-setup.ts'
import { loadRuntimeModels } from '../../../services/monitor/run/runtime-models.ts'
import { loadDriftgateConfig } from '../../../services/shared/config/model-config.ts'

// The configuration the main job runs with: the committed example, its comments kept, with the
// model's reference profile built from the scenario's training week (files only, no servers).

const dir = mkdtempSync(join(tmpdir(), 'driftgate-scenario-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('scenario config', () => {
  it('writes the example config with reference_profile pointing at a profile of the training week, which the monitor loads', () => {
    const scenario = generateScenario({ seed: 3, peakPerHour: 60, days: 28 })
    const template = loadDriftgateConfig('config/driftgate.yaml')
    const model = template.models.find((m) => m.model_id === SCENARIO_MODEL)!
    const files = writeScenarioConfig('config/driftgate.yaml', dir, model, scenario, 3)
    expect(files).toEqual({ configPath: join(dir, 'driftgate.yaml'), referencePath: join(dir, 'credit-default.reference.json') })

    const text = readFileSync(files.configPath, 'utf8')
    expect(text.startsWith('# Written by the main job from ')).toBe(true)
    // The example's explanations survive the rewrite.
    expect(text).toContain('# Six-hour windows')
    const config = loadDriftgateConfig(files.configPath)
    expect(config.models.find((m) => m.model_id === SCENARIO_MODEL)!.reference_profile).toBe('credit-default.reference.json')
    // Everything but the profile path is the template's.
    expect({ ...config, baseDir: '', models: config.models.map((m) => ({ ...m, reference_profile: '' })) }).toEqual({
      ...template,
      baseDir: '',
      models: template.models.map((m) => ({ ...m, reference_profile: '' })),
    })

    const runtime = loadRuntimeModels(config).get(SCENARIO_MODEL)!
    const profile = runtime.reference!
    expect(profile.model_id).toBe(SCENARIO_MODEL)
    expect(profile.created_at).toBe(scenario.start)
    expect(profile.source).toBe(`training-baseline:scenario seed 3, ${scenario.baseline.predictions.length} predictions of the first week`)
    expect(profile.numeric.income!.count).toBe(scenario.baseline.predictions.length)
    expect(Object.keys(profile.numeric).sort()).toEqual([...model.features.numeric].sort())
    expect(new Set(profile.categorical.channel!.categories)).toEqual(new Set(['branch', 'web', 'app']))
  })

  it('refuses a template without the model', () => {
    const scenario = generateScenario({ seed: 1, peakPerHour: 50, days: 28 })
    const model = { ...loadDriftgateConfig('config/driftgate.yaml').models[0]!, model_id: 'not-there' }
    expect(() => writeScenarioConfig('config/driftgate.yaml', dir, model, scenario, 1)).toThrow('config/driftgate.yaml has no model not-there')
  })
})
