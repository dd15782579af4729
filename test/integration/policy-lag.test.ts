import { describe, expect, it } from 'vitest'
import { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { ComputedProgress } from '../../services/shared/store/computed-progress.ts'
import { startTcpProxy } from '../support/tcp-proxy.ts'
import { CLICKHOUSE_URL, waitFor } from '../support/harness.ts'
import { CP, H, degradedWindows, policy, trigger } from '../unit/policy/fixtures.ts'
import { useLiveEnvs } from '../unit/policy/live-env.ts'

// The policy behind a monitor that lags: the same triggers, once with the monitor finishing each
// one's data right after publishing it, once with the monitor stuck and ClickHouse unreachable
// for a minute while every trigger arrives. The stored decision histories must be equal.

const PARTITIONS = 6
const LAG_MS = 60_000
const monitorGroup = 'monitor-under-test'

const envs = useLiveEnvs()

/** The sustained drop, state after state, each derived by the monitor an hour of data after the last. */
const states = [CP, CP + H, CP + 2 * H, CP + 2 * H, CP + 3 * H].map((lastSeen, i) => ({
  at: CP + 6 * H + i * H - 20 * 60_000,
  trigger: trigger({ alert_id: 'a-perf', last_seen: lastSeen }),
}))
const labelRate = { until: CP + 6 * H, hours: 24, perHour: 300 }

interface Row {
  decided_at: number
  decision: string
  deciding_gate: string
  deciding_code: string
  trigger_last_seen: number
  request_id: string
}

async function run(lag: boolean): Promise<Row[]> {
  const env = await envs.open()
  const target = new URL(CLICKHOUSE_URL)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
  const ch = new ClickHouse({ url: proxy.url, database: env.ch.database, requestTimeoutMs: 5_000 })
  try {
    await env.seed({ windows: degradedWindows(), labelRate })
    // The monitor's progress as it writes it: every partition of both event topics.
    const monitor = new ComputedProgress(env.ch, monitorGroup)
    const finish = (t: number): Promise<void> =>
      monitor.record(
        [env.topics.predictions, env.topics.labels].flatMap((topic) =>
          Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, maxTimestamp: t, caughtUp: false })),
        ),
      )
    await finish(CP)
    await env.start(policy(), { ch, monitorGroupId: monitorGroup })
    const decided = async (): Promise<number> => Number((await env.rows<{ n: number }>('SELECT count() AS n FROM {{db}}.policy_triggers'))[0]?.n ?? 0)
    if (!lag) {
      // Lockstep: each state is published, the monitor finishes its data, the policy decides.
      for (const [i, s] of states.entries()) {
        env.clock.t = s.at
        await env.send(s.trigger)
        await finish(s.at + 30 * 60_000)
        // (The fourth state repeats the third: one trigger.)
        await waitFor(async () => (await decided()) >= [1, 2, 3, 3, 4][i]!, { what: `state ${i} handled`, timeoutMs: 30_000 })
      }
    } else {
      // The monitor is stuck before every state's data and ClickHouse does not answer while they arrive.
      proxy.pause()
      for (const s of states) {
        env.clock.t = s.at
        await env.send(s.trigger)
      }
      await new Promise((r) => setTimeout(r, LAG_MS))
      expect(await decided()).toBe(0)
      proxy.resume()
      await finish(CP + 30 * H)
    }
    await env.processed(4)
    return await env.rows<Row>(
      'SELECT decided_at, decision, deciding_gate, deciding_code, trigger_last_seen, request_id FROM {{db}}.policy_decisions FINAL ORDER BY decided_at',
    )
  } finally {
    await env.close()
    await ch.close()
    await proxy.close()
  }
}

describe('policy behind a lagging monitor', () => {
  it('gives the decisions it gives without the lag, with ClickHouse unreachable for a minute meanwhile', async () => {
    const plain = await run(false)
    const lagged = await run(true)
    expect(plain.map((r) => [r.decision, r.deciding_code])).toEqual([
      ['suppress', 'single_window_spike'],
      ['suppress', 'not_persistent'],
      ['retrain', ''],
      ['hold', 'already_requested'],
    ])
    expect(lagged).toEqual(plain)
  }, 240_000)
})
