import { describe, expect, it } from 'vitest'
import { loadPolicies, parsePolicyConfig, policyFingerprint } from '../../../services/policy/core/policy-config.ts'
import { parseDriftgateConfig } from '../../../services/shared/config/model-config.ts'

const model = (policy: unknown) => ({ model_id: 'm', task: 'regression', features: { numeric: ['x'] }, policy })

describe('policy config', () => {
  it('has defaults that need evidence, labels and persistence before a retrain', () => {
    const p = parsePolicyConfig(undefined)
    expect(p).toMatchObject({
      persistence_windows: 3,
      min_label_coverage: 0.3,
      min_fresh_labels: 500,
      cooldown: 7 * 86_400_000,
      max_retrains: 2,
      period: 30 * 86_400_000,
      require_approval: false,
    })
    expect(p.root_cause.blocking_kinds).toEqual(['data_quality', 'join_health'])
    expect(p.segments.cold_start).toEqual(['new_entity=true'])
  })

  it('names the bad field under models[i].policy', () => {
    const config = parseDriftgateConfig({ models: [model({ cooldown: 'soon', calendar: [{ name: 'bf', from: '2026-13-45', to: '2026-11-30' }] })] }, '.')
    expect(() => loadPolicies(config)).toThrow(/models\[0\]\.policy\.cooldown: invalid duration 'soon'/)
    expect(() => loadPolicies(config)).toThrow(/models\[0\]\.policy\.calendar\[0\]\.from: invalid date/)
    expect(() => parsePolicyConfig({ persistence_windows: 0 })).toThrow(/policy\.persistence_windows/)
    expect(() => parsePolicyConfig({ surprise: 1 })).toThrow(/surprise/)
  })

  it('calendar dates: a bare `to` date covers the whole day; to before from is an error', () => {
    const p = parsePolicyConfig({ calendar: [{ name: 'Black Friday', from: '2026-11-27', to: '2026-11-30', segments: ['region=us'] }] })
    expect(p.calendar[0]).toEqual({
      name: 'Black Friday',
      from: Date.UTC(2026, 10, 27),
      to: Date.UTC(2026, 11, 1) - 1,
      action: 'hold',
      segments: ['region=us'],
    })
    expect(() => parsePolicyConfig({ calendar: [{ name: 'x', from: '2026-11-30', to: '2026-11-27' }] })).toThrow(/to is before from/)
  })

  it('the fingerprint changes with the rules, not with key order', () => {
    expect(policyFingerprint(parsePolicyConfig({ cooldown: '1d', max_retrains: 3 }))).toBe(
      policyFingerprint(parsePolicyConfig({ max_retrains: 3, cooldown: '24h' })),
    )
    expect(policyFingerprint(parsePolicyConfig({ cooldown: '2d' }))).not.toBe(policyFingerprint(parsePolicyConfig({})))
  })
})
