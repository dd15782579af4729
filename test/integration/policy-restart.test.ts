import { describe, expect, it } from 'vitest'
import { requestId } from '../../services/policy/core/decide.ts'
import { episodeId } from '../../services/policy/core/episode-tracker.ts'
import type { EmitterFaults } from '../../services/policy/run/request-emitter.ts'
import { waitFor } from '../support/harness.ts'
import { CP, H, MODEL, degradedWindows, policy, trigger } from '../unit/policy/fixtures.ts'
import { useLiveEnvs, type LiveEnv } from '../unit/policy/live-env.ts'

// Exactly one RetrainRequest per episode across a restart between the trigger and the request.
// The service records the request in ClickHouse before sending it (status recorded), marks
// `producing` before the send and `produced` after the broker's acknowledgement. A crash is
// simulated by a fault that throws at the crash point and then makes the first service act dead
// (no more work, no offset commit); a second service object then starts on the same group.

const envs = useLiveEnvs()

const sustained = trigger({ alert_id: 'a-perf', last_seen: CP + 2 * H })
const expectedId = requestId(MODEL, episodeId(MODEL, 'a-perf'))

/** A fault at one crash point: it throws once reached, and from then on the service is dead. */
function crashAt(point: keyof EmitterFaults): { faults: EmitterFaults & { halted(): boolean }; crashed(): boolean } {
  let crashed = false
  return {
    faults: {
      [point]: () => {
        crashed = true
        throw new Error(`simulated crash at ${point}`)
      },
      halted: () => crashed,
    },
    crashed: () => crashed,
  }
}

async function requestRows(e: LiveEnv): Promise<{ request_id: string; status: string }[]> {
  return e.rows('SELECT request_id, status FROM {{db}}.retrain_requests FINAL')
}

async function distinctRequestIds(e: LiveEnv, raw: number): Promise<Set<string>> {
  return new Set((await e.requestsOnTopic(raw)).map((r) => r.request_id))
}

async function setUp(): Promise<LiveEnv> {
  const e = await envs.open()
  e.clock.t = CP + 6 * H
  await e.seed({ windows: degradedWindows(), labelRate: { until: CP + 6 * H, hours: 24, perHour: 300 } })
  return e
}

describe('policy service restart between trigger and request', () => {
  it('crash after the request was recorded, before it was sent: the new service sends it once, the redelivered trigger adds nothing', async () => {
    const env = await setUp()
    const crash = crashAt('afterRecord')
    const first = await env.start(policy(), { faults: crash.faults })
    await env.send(sustained)
    await waitFor(() => crash.crashed(), { what: 'the crash point', timeoutMs: 60_000 })
    expect(await requestRows(env)).toEqual([{ request_id: expectedId, status: 'recorded' }])
    await first.stop()
    expect(await env.rawRequestCount()).toBe(0)

    await env.start(policy())
    await env.processed(1)
    await waitFor(async () => (await requestRows(env))[0]?.status === 'produced', { what: 'request produced' })
    // Exactly one message: nothing had been sent before the crash.
    expect(await env.rawRequestCount()).toBe(1)
    expect(await distinctRequestIds(env, 1)).toEqual(new Set([expectedId]))
    const decisions = await env.rows<{ decision: string }>('SELECT decision FROM {{db}}.policy_decisions FINAL')
    expect(decisions).toEqual([{ decision: 'retrain' }])
  })

  it('crash after the broker acknowledged, before the produced marker: the restart finds the request on the topic and does not send it again', async () => {
    const env = await setUp()
    const crash = crashAt('afterProduce')
    const first = await env.start(policy(), { faults: crash.faults })
    await env.send(sustained)
    await waitFor(() => crash.crashed(), { what: 'the crash point', timeoutMs: 60_000 })
    await first.stop()
    expect(await requestRows(env)).toEqual([{ request_id: expectedId, status: 'producing' }])
    expect(await env.rawRequestCount()).toBe(1)

    await env.start(policy())
    await env.processed(1)
    await waitFor(async () => (await requestRows(env))[0]?.status === 'produced', { what: 'request marked produced', timeoutMs: 60_000 })
    expect(await env.rawRequestCount()).toBe(1)
    expect(await distinctRequestIds(env, 1)).toEqual(new Set([expectedId]))
  })

  it('when the restart cannot read the topic back in time, the resend is a second message with the same request_id (consumers deduplicate)', async () => {
    const env = await setUp()
    const crash = crashAt('afterProduce')
    const first = await env.start(policy(), { faults: crash.faults })
    await env.send(sustained)
    await waitFor(() => crash.crashed(), { what: 'the crash point', timeoutMs: 60_000 })
    await first.stop()

    // No time to read the topic: the service cannot tell whether the send reached the broker,
    // so it sends again rather than risk losing the request.
    await env.start(policy(), { topicCheckTimeoutMs: 0 })
    await env.processed(1)
    await waitFor(async () => (await requestRows(env))[0]?.status === 'produced', { what: 'request produced' })
    expect(await env.rawRequestCount()).toBe(2)
    expect(await distinctRequestIds(env, 2)).toEqual(new Set([expectedId]))
  })
})
