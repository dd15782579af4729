import { describe, expect, it } from 'vitest'
import { listRetrains } from '../../services/cli/store/cli-queries.ts'
import type { WindowFacts } from '../../services/policy/core/decision-context.ts'
import type { PolicyService } from '../../services/policy/run/policy-service.ts'
import { waitFor } from '../support/harness.ts'
import { CP, DAY, H, degradedWindows, policy, trigger, window } from '../unit/policy/fixtures.ts'
import { useLiveEnvs, type LiveEnv } from '../unit/policy/live-env.ts'

// The closed loop through the real services: a drift retrain is requested, a new model version
// starts serving, and once its labels matured the policy records whether the retrain helped.
// A retrain that did not help makes the next drift-only episode of the model need more.

const envs = useLiveEnvs()

const drift = (id: string, firstSeen: number) =>
  trigger({ alert_id: id, kind: 'drift', subject: 'income', observed: 0.3, expected: 0, threshold: 0.2, first_seen: firstSeen, last_seen: firstSeen + 3 * H })

/** Six windows of version v2 from `from`, with 80% labels. */
const newVersion = (from: number, accuracy: number, valuePerLabel: number): WindowFacts[] =>
  Array.from({ length: 6 }, (_, i) => window(from + i * H, { metrics: { accuracy }, business_value: 800 * valuePerLabel, estimated_accuracy: accuracy }))

/** A drift retrain requested at CP+6h; returns the service once the request is on the topic. */
async function retrained(): Promise<{ e: LiveEnv; service: PolicyService }> {
  const e = await envs.open()
  e.clock.t = CP + 6 * H
  await e.seed({ windows: degradedWindows(), labelRate: { until: CP + 6 * H, hours: 24, perHour: 300 } })
  const service = await e.start(policy(), { retrainCheckMs: 0 })
  await e.send(drift('a-drift', CP))
  const [request] = await e.requestsOnTopic(1)
  expect(request!.reasons).toContain('evidence:drift_with_estimated_drop')
  await waitFor(async () => (await e.rows<{ status: string }>('SELECT status FROM {{db}}.retrain_requests FINAL'))[0]?.status === 'produced', {
    what: 'the request produced',
  })
  return { e, service }
}

const outcomes = (e: LiveEnv) =>
  e.rows<{ status: string; new_version: string; realized_value: number | null }>(
    'SELECT status, new_version, realized_value FROM {{db}}.retrain_outcomes FINAL',
  )

describe('retrain outcomes', () => {
  it('a better new version records helped, with the value won back; driftgate retrains lists it', async () => {
    const { e, service } = await retrained()
    // No newer version yet: nothing to tell.
    expect(await service.pipeline.evaluateRetrains()).toEqual([])
    await e.seed({ windows: newVersion(CP + 8 * H, 0.9, 1.0), version: 'v2' })
    const [judged] = await service.pipeline.evaluateRetrains()
    // Old: the windows since the change point with at least 30% labels (60, 60, 50 and 40%
    // of 1000) at accuracy 0.8; new: six windows of 800 labels at 0.9.
    expect(judged).toMatchObject({ status: 'helped', old_version: 'v1', new_version: 'v2', old_labeled: 2100, new_labeled: 4800 })
    expect(judged!.difference).toBeCloseTo(0.1, 10)
    expect(judged!.difference_low).toBeGreaterThan(0)
    // (1.0 - 0.7) value per labeled prediction over the 6000 predictions v2 served.
    expect(judged!.realized_value).toBeCloseTo(1800, 6)
    expect(await outcomes(e)).toEqual([{ status: 'helped', new_version: 'v2', realized_value: judged!.realized_value }])
    // Judged once: a second check finds nothing new.
    expect(await service.pipeline.evaluateRetrains()).toEqual([])
    const listed = await listRetrains(e.ch, { limit: 10 })
    expect(listed).toHaveLength(1)
    expect(listed[0]).toMatchObject({ outcome: 'helped', old_version: 'v1', new_version: 'v2', evidence: 'evidence:drift_with_estimated_drop' })
  })

  it('an unchanged new version records no_change, and the next drift-only episode needs twice the estimated drop', async () => {
    const { e, service } = await retrained()
    await e.seed({ windows: newVersion(CP + 8 * H, 0.8, 0.7), version: 'v2' })
    expect((await service.pipeline.evaluateRetrains()).map((o) => o.status)).toEqual(['no_change'])

    // Three days later v2 drifts: estimated accuracy 0.9 before, 0.87 after (a drop of 0.03,
    // enough for the usual 0.02, not for 0.04).
    const cp2 = CP + 3 * DAY
    const before = Array.from({ length: 24 }, (_, i) => window(cp2 - (24 - i) * H))
    const after = Array.from({ length: 6 }, (_, i) => window(cp2 + i * H, { estimated_accuracy: 0.87, metrics: { accuracy: 0.88 } }))
    await e.seed({ windows: [...before, ...after], version: 'v2' })
    e.clock.t = cp2 + 6 * H
    await e.send({ ...drift('a-drift-2', cp2), model_version: 'v2' })
    await waitFor(async () => (await e.rows('SELECT 1 FROM {{db}}.policy_decisions FINAL')).length === 2, { what: 'the second episode decided' })
    const [second] = await e.rows<{ decision: string; deciding_code: string; explanation: string }>(
      `SELECT decision, deciding_code, explanation FROM {{db}}.policy_decisions FINAL WHERE trigger_alert_id = 'a-drift-2'`,
    )
    expect([second!.decision, second!.deciding_code]).toEqual(['suppress', 'no_retrain_evidence'])
    expect(second!.explanation).toContain('(2x the usual drop: 1 earlier retrain on this evidence did not help)')
    expect(await e.rawRequestCount()).toBe(1)
  })
})
