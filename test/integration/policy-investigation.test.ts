import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { requestId } from '../../services/policy/core/decide.ts'
import { episodeId } from '../../services/policy/core/episode-tracker.ts'
import { ALICE, apiCaller, approvers } from '../support/policy-api.ts'
import { waitFor } from '../support/harness.ts'
import { CP, H, MODEL, degradedWindows, policy, trigger } from '../unit/policy/fixtures.ts'
import { useLiveEnvs, type LiveEnv } from '../unit/policy/live-env.ts'

// On-call records what an investigation found through the policy API (and the CLI): a real change lets the
// episode go on to a retrain (one request), a pipeline bug suppresses it and keeps its windows
// out of later decisions and training data. Every call is audited.

const envs = useLiveEnvs()

const call = apiCaller(() => envs.current()?.clock ?? null)
const run = promisify(execFile)
/** A feature beyond its training range, beside a sustained accuracy drop: the root-cause gate investigates. */
const outOfRange = (extra: Parameters<typeof trigger>[0] = {}) =>
  trigger({ alert_id: 'dq-range', kind: 'data_quality', subject: 'out_of_range', severity: 'critical', last_seen: CP + 2 * H, ...extra })
const perf = (lastSeen: number, extra: Parameters<typeof trigger>[0] = {}) => trigger({ alert_id: 'a-perf', last_seen: lastSeen, ...extra })

interface DecisionRow {
  decision_id: string
  episode_id: string
  decision: string
  deciding_gate: string
  deciding_code: string
  explanation: string
}
const decisions = (e: LiveEnv) =>
  e.rows<DecisionRow>(
    'SELECT decision_id, episode_id, decision, deciding_gate, deciding_code, explanation FROM {{db}}.policy_decisions FINAL ORDER BY decided_at, decision_id',
  )

async function start() {
  const e = await envs.open()
  e.clock.t = CP + 6 * H
  await e.seed({ windows: degradedWindows(), labelRate: { until: CP + 6 * H, hours: 24, perHour: 300 } })
  const service = await e.start(policy(), { api: approvers() })
  return { e, service }
}

describe('investigation outcomes over the policy API', () => {
  it('a real change recorded by an approver sends the investigated episode on to exactly one request', async () => {
    const { e, service } = await start()
    const episode = episodeId(MODEL, 'dq-range')
    await e.seed({ alerts: [outOfRange()] })
    await e.send(outOfRange(), perf(CP + 2 * H))
    await e.processed(2)
    await waitFor(async () => (await decisions(e)).length > 0, { what: 'the first decision' })
    const before = await decisions(e)
    expect(new Set(before.map((d) => `${d.decision}/${d.deciding_code}`))).toEqual(new Set(['investigate/concurrent_data_quality_alert']))

    const path = `/episodes/${episode}/investigation`
    // Refused and audited: no token, an unknown outcome, a bug without its fix time, an unknown episode.
    expect((await call(service, 'POST', path, null, { outcome: 'real_change' })).status).toBe(401)
    expect((await call(service, 'POST', path, ALICE, { outcome: 'probably_fine' })).status).toBe(400)
    expect((await call(service, 'POST', path, ALICE, { outcome: 'pipeline_bug' })).status).toBe(400)
    expect((await call(service, 'POST', '/episodes/nope/investigation', ALICE, { outcome: 'real_change' })).status).toBe(404)
    const recorded = await call(service, 'POST', path, ALICE, { outcome: 'real_change', comment: 'new customer segment, checked with the data team' })
    expect(recorded.status).toBe(200)
    expect(recorded.body).toMatchObject({ status: 'recorded', decision: { decision: 'retrain' } })

    const [request] = await e.requestsOnTopic(1)
    expect(request).toMatchObject({ request_id: requestId(MODEL, episode), episode_id: episode, training_data_from: CP })
    const all = await decisions(e)
    const seen = new Set(before.map((d) => d.decision_id))
    const added = all.filter((d) => !seen.has(d.decision_id))
    expect(all.length).toBe(before.length + 1)
    expect(added.map((d) => [d.decision, d.deciding_gate, d.deciding_code])).toEqual([['retrain', '', '']])
    expect(added[0]!.explanation).toContain('root cause: ok (confirmed_real_change)')
    const audit = await e.rows<{ action: string; result: string; actor: string; episode_id: string }>(
      'SELECT action, result, actor, episode_id FROM {{db}}.policy_approvals ORDER BY at',
    )
    expect(audit.map((a) => [a.action, a.result, a.actor, a.episode_id])).toEqual([
      ['investigation', 'unauthorized', '', episode],
      ['investigation', 'invalid', 'alice', episode],
      ['investigation', 'invalid', 'alice', episode],
      ['investigation', 'not_found', 'alice', 'nope'],
      ['investigation', 'ok', 'alice', episode],
    ])
    expect(await e.rows('SELECT outcome, actor, fixed_at FROM {{db}}.policy_investigations')).toEqual([{ outcome: 'real_change', actor: 'alice', fixed_at: 0 }])

    // The episode goes on: a later trigger finds the request, no second one.
    await e.send(perf(CP + 3 * H))
    await e.processed(3)
    await waitFor(async () => (await decisions(e)).length === all.length + 1, { what: 'the next decision' })
    const last = (await decisions(e)).filter((d) => !all.some((a) => a.decision_id === d.decision_id))
    expect(last.map((d) => d.deciding_code)).toEqual(['already_requested'])
    expect(await e.rawRequestCount()).toBe(1)
  })

  it('a pipeline bug suppresses its episode; a later episode trains only on data after the fix', async () => {
    const { e, service } = await start()
    // The bug: a data-quality episode that began a day and a half before the drop, fixed an hour into it.
    const bugStart = CP - 36 * H
    const fixedAt = CP + H
    const bug = outOfRange({ first_seen: bugStart, last_seen: bugStart + 3 * H })
    await e.seed({ alerts: [{ ...bug, status: 'resolved' }] })
    await e.send(bug)
    await e.processed(1)
    await waitFor(async () => (await decisions(e)).length === 1, { what: 'the bug episode decided' })
    const bugEpisode = episodeId(MODEL, 'dq-range')
    // Recorded with the CLI, as on-call would.
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'driftgate-token-')), 'token')
    writeFileSync(tokenFile, `${ALICE}\n`)
    const cli = (...args: string[]) =>
      run(process.execPath, [
        '--import',
        'tsx',
        'services/cli/driftgate-cli.ts',
        'investigation',
        ...args,
        '--api',
        `http://127.0.0.1:${service.apiPort()}`,
        '--token-file',
        tokenFile,
      ])
    await expect(cli(bugEpisode, 'pipeline_bug')).rejects.toThrow(/policy API answered 400: pipeline_bug needs fixed_at/)
    const printed = await cli(bugEpisode, 'pipeline_bug', '--fixed-at', new Date(fixedAt).toISOString(), '--comment', 'unit change in the feature job')
    expect(printed.stdout).toMatch(new RegExp(`^recorded pipeline_bug for episode ${bugEpisode}; the episode was decided again: suppress`))
    expect(await e.rows('SELECT outcome, fixed_at FROM {{db}}.policy_investigations')).toEqual([{ outcome: 'pipeline_bug', fixed_at: fixedAt }])

    // The drop: another episode. Without the outcome its root cause would be the bug's alert.
    await e.send({ ...bug, status: 'resolved' }, perf(CP + 3 * H))
    await e.processed(3)
    await waitFor(async () => (await decisions(e)).length === 3, { what: 'the drop decided' })
    const [request] = await e.requestsOnTopic(1)
    expect(request!.episode_id).toBe(episodeId(MODEL, 'a-perf'))
    expect(request!.training_data_from).toBe(fixedAt)
    const drop = (await decisions(e)).find((d) => d.episode_id === episodeId(MODEL, 'a-perf'))!
    expect(drop.decision).toBe('retrain')
    // The windows the gates would have seen from the reference period (24 h) before the change
    // point until the fix.
    expect(drop.explanation).toContain(`Left out: ${(fixedAt - (CP - 24 * H)) / H} windows of fixed pipeline bugs`)
    const bugDecisions = (await decisions(e)).filter((d) => d.episode_id === bugEpisode)
    // (Both in one step: their order in the table is by id.)
    expect(bugDecisions.map((d) => [d.decision, d.deciding_code]).sort()).toEqual([
      ['investigate', 'concurrent_data_quality_alert'],
      ['suppress', 'pipeline_bug'],
    ])
    expect(await e.rawRequestCount()).toBe(1)
  })
})
