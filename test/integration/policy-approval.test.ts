import { describe, expect, it } from 'vitest'
import { requestId } from '../../services/policy/core/decide.ts'
import { episodeId } from '../../services/policy/core/episode-tracker.ts'
import type { PolicyService } from '../../services/policy/run/policy-service.ts'
import { waitFor } from '../support/harness.ts'
import { ALICE, BOB, apiCaller, approvers } from '../support/policy-api.ts'
import { CP, H, MODEL, degradedWindows, policy, trigger } from '../unit/policy/fixtures.ts'
import { useLiveEnvs, type LiveEnv } from '../unit/policy/live-env.ts'

// Human approval over the HTTP API: a retrain that passed every gate waits as a hold; an
// approval sends the request (once), a rejection holds the episode; every call is audited.

const TOKEN = ALICE
const envs = useLiveEnvs()

const perf = (lastSeen: number) => trigger({ alert_id: 'a-perf', last_seen: lastSeen })

const call = apiCaller(() => envs.current()?.clock ?? null)

async function startWithApproval(): Promise<{ e: LiveEnv; service: PolicyService; decisionId: string }> {
  const e = await envs.open()
  e.clock.t = CP + 6 * H
  await e.seed({ windows: degradedWindows(), labelRate: { until: CP + 6 * H, hours: 24, perHour: 300 } })
  const service = await e.start(policy({ require_approval: true }), { api: approvers() })
  await e.send(perf(CP + 2 * H))
  await e.processed(1)
  const [row] = await e.rows<{ decision_id: string; decision: string; deciding_code: string; awaiting_approval: number }>(
    'SELECT decision_id, decision, deciding_code, awaiting_approval FROM {{db}}.policy_decisions FINAL',
  )
  expect(row).toMatchObject({ decision: 'hold', deciding_code: 'awaiting_approval', awaiting_approval: 1 })
  return { e, service, decisionId: row!.decision_id }
}

describe('approval API', () => {
  it('lists the pending decision, refuses a bad token, sends the request once on approval, and audits every call', async () => {
    const { e, service, decisionId } = await startWithApproval()
    expect(await e.rawRequestCount()).toBe(0)
    expect((await call(service, 'GET', '/approvals', null)).status).toBe(401)
    const listed = await call(service, 'GET', '/approvals', TOKEN)
    expect(listed.status).toBe(200)
    expect((listed.body.pending as { decision_id: string }[]).map((p) => p.decision_id)).toEqual([decisionId])

    expect((await call(service, 'POST', `/approvals/${decisionId}/approve`, 'wrong-token', {})).status).toBe(401)
    // Malformed requests are refused with 400 and audited, with or without a token.
    expect((await call(service, 'POST', '/approvals/%E0%A4%A/approve', null, {})).status).toBe(400)
    expect((await call(service, 'POST', '/approvals/%ZZ/reject', ALICE, {})).status).toBe(400)
    expect((await call(service, 'POST', `/approvals/${decisionId}/approve`, ALICE, { comment: { toString: 1 } })).status).toBe(400)
    expect((await call(service, 'POST', `/approvals/${decisionId}/approve`, ALICE, '{not json')).status).toBe(400)
    // The actor is the token's owner: a name in the body or a header is ignored.
    const approved = await call(
      service,
      'POST',
      `/approvals/${decisionId}/approve`,
      ALICE,
      { actor: 'mallory', comment: 'checked the evidence' },
      { 'x-actor': 'mallory' },
    )
    const expectedId = requestId(MODEL, episodeId(MODEL, 'a-perf'))
    expect(approved).toEqual({ status: 200, body: { status: 'approved', request_id: expectedId } })
    expect((await call(service, 'POST', `/approvals/${decisionId}/approve`, BOB, { actor: 'alice' })).status).toBe(409)
    expect((await call(service, 'POST', '/approvals/nope/reject', TOKEN, {})).status).toBe(404)

    const [request] = await e.requestsOnTopic(1)
    expect(request).toMatchObject({ request_id: expectedId, decision_id: decisionId, training_data_from: CP })
    expect(await e.rows('SELECT approved_by, status FROM {{db}}.retrain_requests FINAL')).toEqual([{ approved_by: 'alice', status: 'produced' }])
    const audit = await e.rows<{ action: string; result: string; actor: string }>('SELECT action, result, actor FROM {{db}}.policy_approvals ORDER BY at')
    expect(audit.map((a) => [a.action, a.result, a.actor])).toEqual([
      ['list', 'unauthorized', ''],
      ['approve', 'unauthorized', ''],
      ['approve', 'invalid', ''],
      ['reject', 'invalid', ''],
      ['approve', 'invalid', 'alice'],
      ['approve', 'invalid', 'alice'],
      ['approve', 'ok', 'alice'],
      ['approve', 'not_pending', 'bob'],
      ['reject', 'not_found', 'alice'],
    ])
    expect((await call(service, 'GET', '/approvals', TOKEN)).body.pending).toEqual([])

    // A later trigger of the same episode: the request exists, no second one.
    await e.send(perf(CP + 3 * H))
    await e.processed(2)
    const codes = await e.rows<{ deciding_code: string }>('SELECT deciding_code FROM {{db}}.policy_decisions FINAL ORDER BY trigger_last_seen')
    expect(codes.map((c) => c.deciding_code)).toEqual(['awaiting_approval', 'already_requested'])
    expect(await e.rawRequestCount()).toBe(1)
  })

  it('a rejection sends nothing and holds the rest of the episode; the audit survives a restart', async () => {
    const { e, service, decisionId } = await startWithApproval()
    const rejected = await call(service, 'POST', `/approvals/${decisionId}/reject`, TOKEN, { actor: 'carol', comment: 'known data issue upstream' })
    expect(rejected).toEqual({ status: 200, body: { status: 'rejected' } })
    await service.stop()

    const again = await e.start(policy({ require_approval: true }), { api: approvers() })
    await e.send(perf(CP + 3 * H))
    await e.processed(2)
    await waitFor(async () => (await e.rows('SELECT 1 FROM {{db}}.policy_decisions FINAL')).length === 2, { what: 'second decision' })
    const codes = await e.rows<{ deciding_code: string }>('SELECT deciding_code FROM {{db}}.policy_decisions FINAL ORDER BY trigger_last_seen')
    expect(codes.map((c) => c.deciding_code)).toEqual(['awaiting_approval', 'approval_rejected'])
    expect((await call(again, 'GET', '/approvals', TOKEN)).body.pending).toEqual([])
    expect(await e.rawRequestCount()).toBe(0)
  })

  it('refused calls are audited up to 20 per address a minute; past that they get 429 and never reach ClickHouse', async () => {
    const { e, service, decisionId } = await startWithApproval()
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) statuses.push((await call(service, 'POST', `/approvals/${decisionId}/approve`, `guess-${i}`, {})).status)
    expect(statuses).toEqual([...Array<number>(20).fill(401), ...Array<number>(10).fill(429)])
    const [row] = await e.rows<{ n: number }>("SELECT count() AS n FROM {{db}}.policy_approvals WHERE result = 'unauthorized'")
    expect(Number(row!.n)).toBe(20)
    // The owner of a valid token is not limited by others' refusals.
    expect((await call(service, 'GET', '/approvals', ALICE)).status).toBe(200)
  })
})
