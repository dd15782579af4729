import { describe, expect, it } from 'vitest'
import { rootCauseGate } from '../../../services/policy/core/gates/root-cause.gate.ts'
import { CP, DAY, H, context, policy, trigger } from './fixtures.ts'

const nullSpike = trigger({
  alert_id: 'a-null',
  kind: 'data_quality',
  subject: 'null_rate:age',
  first_seen: CP + H,
  last_seen: CP + 2 * H,
  observed: 0.4,
  expected: 0.01,
})

describe('root cause gate', () => {
  it('passes when no data-quality, join-health, schema or volume alert is near the change point', () => {
    const o = rootCauseGate(context(), policy())
    expect(o.verdict).toBe('pass')
    expect(o.reason).toMatchObject({ gate: 'root_cause', code: 'no_root_cause_found' })
    expect(o.evidence).toEqual(['concurrent_alerts', 'deploys'])
  })

  it('a null spike (data_quality alert) together with drift means investigate, never retrain', () => {
    const o = rootCauseGate(context({ concurrent_alerts: [nullSpike] }), policy())
    expect(o.verdict).toBe('investigate')
    expect(o.reason.code).toBe('concurrent_data_quality_alert')
    expect(o.reason.message).toContain('data_quality on null_rate:age')
  })

  it('the episode’s own data_quality alert counts as well as one from the alerts table', () => {
    const o = rootCauseGate(context({}, [trigger(), nullSpike]), policy())
    expect(o.verdict).toBe('investigate')
  })

  it('a schema change outranks the other findings; a volume anomaly and a join-health alert are found too', () => {
    const schema = trigger({ alert_id: 'a-schema', kind: 'data_quality', subject: 'schema:new_column' })
    const volume = trigger({ alert_id: 'a-vol', kind: 'anomaly', subject: 'volume' })
    const join = trigger({ alert_id: 'a-join', kind: 'join_health', subject: 'orphan_rate' })
    const o = rootCauseGate(context({ concurrent_alerts: [volume, join, schema] }), policy())
    expect(o.reason.code).toBe('schema_change')
    expect(o.facts?.findings).toBe(3)
    expect(rootCauseGate(context({ concurrent_alerts: [volume] }), policy()).reason.code).toBe('volume_anomaly')
    expect(rootCauseGate(context({ concurrent_alerts: [join] }), policy()).reason.code).toBe('concurrent_join_health_alert')
  })

  it('ignores info alerts, anomalies on other subjects and alerts that ended before the lookback', () => {
    const info = { ...nullSpike, alert_id: 'a-info', severity: 'info' as const }
    const otherAnomaly = trigger({ alert_id: 'a-an', kind: 'anomaly', subject: 'positive_rate' })
    // Ended 2 days before the change point; the default lookback is 1 day.
    const old = { ...nullSpike, alert_id: 'a-old', first_seen: CP - 3 * DAY, last_seen: CP - 2 * DAY }
    expect(rootCauseGate(context({ concurrent_alerts: [info, otherAnomaly, old] }), policy()).verdict).toBe('pass')
  })

  it('a shift that starts right after a deploy points at the deploy (training-serving skew)', () => {
    const deploys = [
      { model_version: 'v1', first_seen: CP - 30 * DAY },
      { model_version: 'v2', first_seen: CP - 2 * H },
    ]
    const o = rootCauseGate(context({ deploys }), policy())
    expect(o.verdict).toBe('investigate')
    expect(o.reason.code).toBe('shift_after_deploy')
    expect(o.reason.message).toContain('2h after version v2')
    // Outside the configured post-deploy window it is not suspicious.
    expect(rootCauseGate(context({ deploys }), policy({ root_cause: { post_deploy_window: '1h' } })).verdict).toBe('pass')
  })

  it('a volume anomaly of a cold-start segment (the segment growing) is no root cause; on the whole traffic it is', () => {
    const growing = trigger({ alert_id: 'a-vol-new', kind: 'anomaly', subject: 'volume', segment: 'new_entity=true', observed: 66, expected: 34 })
    const rules = policy({ segments: { cold_start: ['new_entity=true'] } })
    expect(rootCauseGate(context({ concurrent_alerts: [growing] }), rules).verdict).toBe('pass')
    expect(rootCauseGate(context({ concurrent_alerts: [{ ...growing, segment: 'all' }] }), rules).reason.code).toBe('volume_anomaly')
  })
})
