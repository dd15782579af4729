import { describe, expect, it } from 'vitest'
import type { ClickHouse } from '../../../services/shared/clickhouse/client.ts'
import { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import type { MonitorTrigger } from '../../../services/shared/events/types.ts'
import type { ConsumedRecord } from '../../../services/shared/kafka/records.ts'
import type { ContextLoader } from '../../../services/policy/store/context-loader.ts'
import type { MonitorMark } from '../../../services/policy/core/decision-steps.ts'
import { PolicyPipeline } from '../../../services/policy/run/policy-pipeline.ts'
import { PolicyStore, type DecisionRow, type StoredRequest } from '../../../services/policy/store/policy-store.ts'
import type { RequestEmitter } from '../../../services/policy/run/request-emitter.ts'
import { testLogger } from '../../support/harness.ts'
import { CP, H, MODEL, degradedWindows, policy, trigger } from './fixtures.ts'

// The policy's pipeline against a monitor that lags: decisions wait for the monitor to finish
// their step, and come out the same however far behind it is.

/** The sustained drop of fixtures.ts, state after state, each derived an hour of data apart. */
function drop(): MonitorTrigger[] {
  return [CP, CP + H, CP + 2 * H, CP + 3 * H].map((lastSeen, i) => trigger({ last_seen: lastSeen, data_time: CP + 6 * H + i * H - 30 * 60_000 }))
}

function harness(mark: MonitorMark) {
  const decisions: DecisionRow[] = []
  // Rows as the real store builds them; the ClickHouse client is never reached.
  const rows = new PolicyStore({} as ClickHouse)
  const requests = new Map<string, StoredRequest>()
  const store = {
    load: async () => ({
      episodes: [],
      requests: [],
      approvals: [],
      processed: new Set<string>(),
      pending: [],
      investigations: [],
      latestDecisions: [],
      retrainOutcomes: [],
    }),
    decisionRow: rows.decisionRow.bind(rows),
    writeBatch: async (b: { decisions: DecisionRow[] }) => void decisions.push(...b.decisions),
  } as unknown as PolicyStore
  const emitter = {
    requests,
    restore: () => undefined,
    has: (id: string) => requests.has(id),
    recorded: (r: StoredRequest) => void requests.set(r.request.request_id, r),
    emitPending: async () => 0,
  } as unknown as RequestEmitter
  const loader: ContextLoader = {
    // The facts as of the step: only windows that ended by then.
    load: async (_episode, _policy, asOf) => ({
      as_of: asOf,
      window_size_ms: H,
      concurrent_alerts: [],
      windows: degradedWindows().filter((w) => w.window_end <= asOf),
      label_rate_per_hour: 300,
      deploys: [],
      queries: {},
    }),
  }
  const pipeline = new PolicyPipeline({
    store,
    loader,
    emitter,
    codec: EventCodec.forRegistry('http://127.0.0.1:9'),
    policies: new Map([[MODEL, policy()]]),
    logger: testLogger('policy'),
    mark,
    pollMs: 5,
  })
  let offset = 0
  const batch = (triggers: MonitorTrigger[]): ConsumedRecord[] =>
    triggers.map((t) => ({
      topic: 'triggers',
      partition: 0,
      offset: String(offset++),
      timestamp: 0,
      key: Buffer.from(MODEL),
      value: Buffer.from(JSON.stringify(t)),
      headers: {},
    }))
  return { pipeline, decisions, batch, published: () => BigInt(offset) }
}

const answers = (decisions: DecisionRow[]) => decisions.map((d) => [d.decided_at, d.decision, d.deciding_code, d.request_id])
const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms))

describe('policy decisions per step of data time', () => {
  it('a trigger waits until the monitor has finished its step; then it is decided as of the step', async () => {
    let finished = CP
    let ends = 0n
    const h = harness({ finished: async () => finished, triggerEnds: async () => new Map([[0, ends]]) })
    await h.pipeline.init()
    const [first] = drop()
    const { settled } = await h.pipeline.handleBatch(h.batch([first!]))
    ends = h.published()
    let done = false
    void settled.then(() => (done = true))
    await settle()
    expect(h.decisions).toEqual([])
    expect(done).toBe(false)
    finished = CP + 6 * H
    await settle()
    expect(done).toBe(true)
    expect(answers(h.decisions)).toEqual([[CP + 6 * H, 'suppress', 'single_window_spike', '']])
    h.pipeline.close()
  })

  it('a monitor that lags, and a policy that reads triggers in other batches, give the same decisions', async () => {
    // Run 1: the monitor is always just past each trigger's data, one trigger per batch.
    let finished1 = -Infinity
    let ends1 = 0n
    const one = harness({ finished: async () => finished1, triggerEnds: async () => new Map([[0, ends1]]) })
    await one.pipeline.init()
    for (const t of drop()) {
      const { settled } = await one.pipeline.handleBatch(one.batch([t]))
      ends1 = one.published()
      finished1 = t.data_time + H
      await settled
    }
    // Run 2: the monitor is stuck while every trigger arrives (two batches), then jumps ahead.
    let finished2 = CP
    let ends2 = 0n
    const two = harness({ finished: async () => finished2, triggerEnds: async () => new Map([[0, ends2]]) })
    await two.pipeline.init()
    const states = drop()
    const a = await two.pipeline.handleBatch(two.batch(states.slice(0, 3)))
    const b = await two.pipeline.handleBatch(two.batch(states.slice(3)))
    ends2 = two.published()
    await settle()
    expect(two.decisions).toEqual([])
    finished2 = CP + 30 * H
    await Promise.all([a.settled, b.settled])

    expect(answers(two.decisions)).toEqual(answers(one.decisions))
    expect(answers(one.decisions).map((d) => d[1])).toEqual(['suppress', 'suppress', 'retrain', 'hold'])
    one.pipeline.close()
    two.pipeline.close()
  })

  it('stopping leaves waiting triggers (and every later batch) unsettled, to be replayed', async () => {
    const h = harness({ finished: async () => -Infinity, triggerEnds: async () => new Map() })
    await h.pipeline.init()
    const [first] = drop()
    const a = await h.pipeline.handleBatch(h.batch([first!]))
    h.pipeline.close()
    const b = await h.pipeline.handleBatch(h.batch([]))
    await expect(a.settled).rejects.toThrow(/stopped/)
    await expect(b.settled).rejects.toThrow(/stopped/)
    expect(h.decisions).toEqual([])
  })

  it('stopping with two batches waiting leaves no rejection unobserved', async () => {
    const unobserved: unknown[] = []
    const listener = (reason: unknown) => void unobserved.push(reason)
    process.on('unhandledRejection', listener)
    try {
      const h = harness({ finished: async () => -Infinity, triggerEnds: async () => new Map() })
      await h.pipeline.init()
      const [first, second] = drop()
      await h.pipeline.handleBatch(h.batch([first!]))
      await h.pipeline.handleBatch(h.batch([second!]))
      h.pipeline.close()
      await settle()
      expect(unobserved).toEqual([])
    } finally {
      process.off('unhandledRejection', listener)
    }
  })
})
