import { describe, expect, it } from 'vitest'
import { requestId } from '../../services/policy/core/decide.ts'
import { episodeId } from '../../services/policy/core/episode-tracker.ts'
import { PolicyStore } from '../../services/policy/store/policy-store.ts'
import { replayPolicy } from '../../services/policy/run/replay.ts'
import { CP, DAY, H, MODEL, degradedWindows, policy, trigger, window } from '../unit/policy/fixtures.ts'
import { useLiveEnvs, type LiveEnv } from '../unit/policy/live-env.ts'
import { waitFor } from '../support/harness.ts'

// The policy service end to end: triggers in through Kafka, facts from ClickHouse (seeded as the
// monitor writes them), decisions into ClickHouse, retrain requests out through Kafka.

const envs = useLiveEnvs()

const perf = (lastSeen: number, overrides = {}) => trigger({ alert_id: 'a-perf', last_seen: lastSeen, ...overrides })
const labelRate = { until: CP + 6 * H, hours: 24, perHour: 300 }

interface DecisionRow {
  decision_id: string
  decision: string
  deciding_gate: string
  deciding_code: string
  trigger_last_seen: number
  reason_gates: string[]
  retry_at: number | null
  request_id: string
}

async function decisions(e: LiveEnv): Promise<DecisionRow[]> {
  return e.rows<DecisionRow>(
    'SELECT decision_id, decision, deciding_gate, deciding_code, trigger_last_seen, reason_gates, retry_at, request_id FROM {{db}}.policy_decisions FINAL ORDER BY trigger_alert_id, trigger_last_seen',
  )
}

describe('policy service through Kafka and ClickHouse', () => {
  it('a sustained performance drop with mature labels gives exactly one RetrainRequest; replay reports the live decisions', async () => {
    const env = await envs.open()
    env.clock.t = CP + 6 * H
    await env.seed({ windows: degradedWindows(), alerts: [perf(CP + 3 * H)], labelRate })
    const p = policy()
    await env.start(p)
    // The alert fires window after window (each state derived an hour of data later, as its labels
    // came in); the third window makes it sustained. The same state sent twice (a monitor restart)
    // is one trigger. Each state falls in a decision step of its own.
    for (const lastSeen of [CP, CP + H, CP + 2 * H, CP + 2 * H, CP + 3 * H]) {
      env.clock.t = CP + 6 * H + (lastSeen - CP)
      await env.send(perf(lastSeen))
    }
    await env.processed(4)

    const rows = await decisions(env)
    expect(rows.map((r) => [r.decision, r.deciding_code])).toEqual([
      ['suppress', 'single_window_spike'],
      ['suppress', 'not_persistent'],
      ['retrain', ''],
      ['hold', 'already_requested'],
    ])
    expect(rows.every((r) => r.reason_gates.length === 10)).toBe(true)

    const expectedId = requestId(MODEL, episodeId(MODEL, 'a-perf'))
    await env.processed(4)
    const requests = await env.requestsOnTopic(1)
    expect(await env.rawRequestCount()).toBe(1)
    expect(requests).toHaveLength(1)
    expect(requests[0]).toMatchObject({
      request_id: expectedId,
      model_id: MODEL,
      decision_id: rows[2]!.decision_id,
      // As of the end of the step the sustaining state was derived in.
      requested_at: CP + 8 * H,
      // Change point to the end of the latest window with >= 30% labels (CP+3h, 40%).
      training_data_from: CP,
      training_data_to: CP + 4 * H,
    })
    // The row says produced once the send is acknowledged, a moment after the record is on the topic.
    const requestRows = () => env.rows<{ request_id: string; status: string }>('SELECT request_id, status FROM {{db}}.retrain_requests FINAL')
    await waitFor(async () => (await requestRows()).some((r) => r.status === 'produced'), { timeoutMs: 10_000, what: 'the request row marked produced' }).catch(
      () => undefined,
    )
    const stored = await requestRows()
    expect(stored).toEqual([{ request_id: expectedId, status: 'produced' }])

    // Replay: same history, same policy, no side effects, same decisions.
    const before = await env.rows<{ n: number }>('SELECT count() AS n FROM {{db}}.policy_decisions')
    const report = await replayPolicy({ store: new PolicyStore(env.ch), policies: new Map([[MODEL, p]]) })
    expect(report.entries.map((e) => [e.decision_id, e.decision])).toEqual(rows.map((r) => [r.decision_id, r.decision]))
    expect(report.entries.every((e) => e.facts === 'recorded')).toBe(true)
    expect(report.changed).toEqual([])
    expect(report.requests).toEqual([expectedId])
    // A stricter dry run (4 windows) would have retrained one window later.
    const strict = await replayPolicy({ store: new PolicyStore(env.ch), policies: new Map([[MODEL, policy({ persistence_windows: 4 })]]) })
    expect(strict.entries.map((e) => e.decision)).toEqual(['suppress', 'suppress', 'suppress', 'retrain'])
    expect(strict.changed).toHaveLength(2)
    expect(await env.rows<{ n: number }>('SELECT count() AS n FROM {{db}}.policy_decisions')).toEqual(before)
  })

  it('the same drop inside a configured Black Friday window is held, and nothing is requested', async () => {
    const env = await envs.open()
    env.clock.t = CP + 6 * H
    await env.seed({ windows: degradedWindows(), labelRate })
    await env.start(policy({ calendar: [{ name: 'Black Friday', from: '2026-11-10', to: '2026-11-12', action: 'hold' }] }))
    await env.send(perf(CP + 2 * H))
    env.clock.t = CP + 7 * H
    await env.send(perf(CP + 3 * H))
    await env.processed(2)
    const rows = await decisions(env)
    // The same answer for the same reason in the next step is counted on the stored decision.
    expect(rows.map((r) => [r.decision, r.deciding_gate, r.deciding_code])).toEqual([['hold', 'known_event', 'known_event']])
    const [counted] = await env.rows<{ repeats: number; decided_at: number; last_decided_at: number }>(
      'SELECT repeats, decided_at, last_decided_at FROM {{db}}.policy_decisions FINAL',
    )
    expect([counted!.repeats, counted!.last_decided_at - counted!.decided_at]).toEqual([2, H])
    // Re-judged once the shift held 3 windows after the event's end (end of 2026-11-12).
    expect(Number(rows[0]!.retry_at)).toBe(Date.UTC(2026, 10, 13) + 3 * H)
    expect(await env.rawRequestCount()).toBe(0)
  })

  it('a null spike (data_quality alert) together with drift means investigate and no request', async () => {
    const env = await envs.open()
    env.clock.t = CP + 6 * H
    const drift = trigger({
      alert_id: 'a-drift',
      kind: 'drift',
      subject: 'features',
      evidence: [{ name: 'income', score: 0.4, detail: 'psi 0.4' }],
      last_seen: CP + 3 * H,
    })
    const nulls = trigger({
      alert_id: 'a-null',
      kind: 'data_quality',
      subject: 'null_rate',
      evidence: [{ name: 'income', score: 0.35, detail: '35% null' }],
      first_seen: CP + H,
      last_seen: CP + 2 * H,
    })
    await env.seed({ windows: degradedWindows(), alerts: [nulls], labelRate })
    await env.start(policy())
    await env.send(drift, nulls)
    await env.processed(2)
    // One episode, one decision step; without a monitor to wait for, each batch is decided as it
    // comes, so the two states give one or two decisions, all the same.
    const rows = await decisions(env)
    expect(rows.length).toBeGreaterThan(0)
    expect(new Set(rows.map((r) => `${r.decision}/${r.deciding_code}`))).toEqual(new Set(['investigate/concurrent_data_quality_alert']))
    expect(await env.rawRequestCount()).toBe(0)
  })

  it('drift while label coverage is under the threshold is held until labels are expected', async () => {
    const env = await envs.open()
    env.clock.t = CP + 6 * H
    const coverages = [0.2, 0.1, 0.05, 0, 0, 0]
    const windows = [
      ...degradedWindows().filter((w) => w.window_start < CP),
      ...coverages.map((c, i) => window(CP + i * H, { label_coverage: c, labeled_count: Math.round(1000 * c) })),
    ]
    await env.seed({ windows, labelRate })
    await env.start(policy())
    await env.send(trigger({ alert_id: 'a-drift', kind: 'drift', subject: 'features', last_seen: CP + 3 * H }))
    await env.processed(1)
    const [row] = await decisions(env)
    expect([row!.decision, row!.deciding_code]).toEqual(['hold', 'too_few_fresh_labels'])
    // 350 fresh labels, 500 needed, 300 labels/h joined over the last 24 h (label_health).
    const fresh = 200 + 100 + 50
    expect(Number(row!.retry_at)).toBe(CP + 6 * H + ((500 - fresh) / 300) * H)
    expect(await env.rawRequestCount()).toBe(0)
  })

  it('a second episode inside the cooldown is held', async () => {
    const env = await envs.open()
    // Healthy before the change, degraded (60% labels) for two days after it.
    const windows = [...degradedWindows().filter((w) => w.window_start < CP)]
    for (let t = CP; t <= CP + 2 * DAY; t += H)
      windows.push(window(t, { label_coverage: 0.6, metrics: { accuracy: 0.8 }, estimated_accuracy: 0.85, business_value: 600 * 0.7 }))
    await env.seed({ windows, labelRate })
    await env.start(policy())
    env.clock.t = CP + 6 * H
    await env.send(perf(CP + 2 * H), perf(CP + 3 * H, { status: 'resolved' }))
    await env.processed(2)
    env.clock.t = CP + 2 * DAY
    const second = trigger({ alert_id: 'a-perf-2', first_seen: CP + 30 * H, last_seen: CP + 32 * H })
    await env.send(second)
    await env.processed(3)
    const rows = await decisions(env)
    expect(rows.map((r) => [r.decision, r.deciding_code])).toEqual([
      ['retrain', ''],
      ['hold', 'cooldown_active'],
    ])
    expect(Number(rows[1]!.retry_at)).toBe(CP + 6 * H + 7 * DAY)
    const episodes = await env.rows<{ episode_id: string; status: string }>('SELECT episode_id, status FROM {{db}}.policy_episodes FINAL ORDER BY change_point')
    expect(episodes).toEqual([
      { episode_id: episodeId(MODEL, 'a-perf'), status: 'closed' },
      { episode_id: episodeId(MODEL, 'a-perf-2'), status: 'open' },
    ])
    expect(await env.rawRequestCount()).toBe(1)
  })

  it('a class prior that moved under a still-calibrated model is a label shift: hold, and no request', async () => {
    // Accuracy 0.817 to 0.769 (labeled) and 0.818 to 0.769 (CBPE) while the input drift is sustained.
    const shifted = (calibrationAfter: number) =>
      degradedWindows().map((w) =>
        w.window_start < CP
          ? { ...w, metrics: { accuracy: 0.817, calibration_error: 0.02 }, estimated_accuracy: 0.818 }
          : { ...w, metrics: { accuracy: 0.769, calibration_error: calibrationAfter }, estimated_accuracy: 0.769 },
      )
    const drift = trigger({ alert_id: 'a-drift', kind: 'drift', subject: 'income', observed: 0.3, expected: 0, threshold: 0.2 })
    const decide = async (calibrationAfter: number) => {
      const env = await envs.open()
      env.clock.t = CP + 6 * H
      await env.seed({ windows: shifted(calibrationAfter), labelRate })
      await env.start(policy())
      await env.send(drift)
      await env.processed(1)
      const [row] = await env.rows<{ decision: string; deciding_code: string; explanation: string }>(
        'SELECT decision, deciding_code, explanation FROM {{db}}.policy_decisions FINAL',
      )
      // A retrain's request reaches the topic right after its decision is stored.
      const requests = row!.decision === 'retrain' ? (await env.requestsOnTopic(1)).length : await env.rawRequestCount()
      await env.close()
      return { ...row!, requests }
    }
    const calibrated = await decide(0.025)
    expect([calibrated.decision, calibrated.deciding_code, calibrated.requests]).toEqual(['hold', 'label_shift', 0])
    expect(calibrated.explanation).toContain('calibration error 0.025 vs 0.020')
    expect(calibrated.explanation).toContain('a retrain cannot beat it')
    // The same numbers with the calibration broken (how inputs map to outcomes changed): a retrain.
    const broken = await decide(0.08)
    expect([broken.decision, broken.requests]).toEqual(['retrain', 1])
  })
})
