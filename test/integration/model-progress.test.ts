import type { Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import type { PredictionEvent } from '../../services/shared/events/types.ts'
import { waitFor, windowsSettled } from '../support/harness.ts'
import { HOUR } from '../support/monitor-fixture.ts'
import { fixturePrediction as prediction, monitorRun } from '../support/monitor-run.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'
import { expectAbsentTraffic, windowSnapshot } from '../support/window-reads.ts'

// Windows close by each model's own progress on every partition: another model's newer records,
// live beside a backfill, neither close the backfilled model's windows early nor keep a model
// that went silent from being noticed.

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

const PARTITIONS = 6
const LATENESS = 10 * 60_000

/** Six hours of one model's history, 300 predictions an hour, each with the partition it goes to. */
function history(modelId: string, start: number): { event: PredictionEvent; partition: number }[] {
  return Array.from({ length: 6 * 300 }, (_, n) => {
    const h = Math.floor(n / 300)
    const i = n % 300
    return { event: prediction(modelId, `${modelId}-${h}-${i}`, start + h * HOUR + i * 12_000, i), partition: n % PARTITIONS }
  })
}

/** Sends records as a replay tool does: to the given partition, stamped with their event time. */
async function replay(producer: Producer, topic: string, records: { event: PredictionEvent; partition: number }[]): Promise<void> {
  await producer.send({
    topic,
    messages: records.map(({ event, partition }) => ({
      key: event.prediction_id,
      partition,
      timestamp: String(event.event_time),
      value: JSON.stringify(event),
    })),
  })
}

/** A model's alert transitions as sent, without what names the model and database, or says how far
 *  the monitor had read all topics (`data_time`, another model's records included). */
async function transitions(ch: ClickHouse, modelId: string): Promise<unknown[]> {
  const rows = await ch.query<{ status: string; last_seen: number; trigger_json: string }>(
    `SELECT status, last_seen, trigger_json FROM ${ch.table('alert_events')} FINAL WHERE model_id = ${lit(modelId)}`,
  )
  return rows
    .map((r) => {
      const { alert_id: _a, model_id: _m, data_time: _d, ...rest } = JSON.parse(r.trigger_json) as Record<string, unknown>
      return JSON.stringify({ status: r.status, last_seen: Number(r.last_seen), ...rest })
        .split(modelId)
        .join('MODEL')
        .split(`${ch.database}.`)
        .join('DB.')
    })
    .sort()
    .map((t) => JSON.parse(t) as unknown)
}

/** Everything computed for a model, with its id taken out (runs name their models apart). */
async function computed(ch: ClickHouse, modelId: string): Promise<unknown> {
  const snapshot = await windowSnapshot(ch, modelId)
  const { alerts, ...rest } = snapshot
  // Ordered by what they are about: their ids hash the model's id.
  const anonymous = (alerts as Record<string, unknown>[]).map(({ alert_id: _a, ...a }) => JSON.stringify(a)).sort()
  return JSON.parse(
    JSON.stringify({ ...rest, alerts: anonymous })
      .split(modelId)
      .join('MODEL'),
  )
}

/** Sends live predictions of a model (stamped now) to every partition until stopped. */
function liveTraffic(send: (events: PredictionEvent[]) => Promise<void>, modelId: string): { stop(): Promise<void> } {
  let running = true
  let n = 0
  const loop = (async () => {
    while (running) {
      const now = Date.now()
      await send(Array.from({ length: 12 }, (_, i) => prediction(modelId, `${modelId}-live-${n++}`, now, i)))
      await new Promise((r) => setTimeout(r, 250))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
    },
  }
}

describe('windows close by their own model’s progress', () => {
  it('a backfill of one model beside another live one gives it the windows and alerts it gets alone', async () => {
    const start = Math.floor(Date.now() / HOUR) * HOUR - 10 * HOUR
    const lastClosed = start + 5 * HOUR

    // Alone: the history replayed at once, nothing else on the topics.
    const alone = await monitorRun(registry.url, 'alone')
    const aloneProducer = alone.kafka.producer()
    await aloneProducer.connect()
    let expected: unknown
    let expectedTransitions: unknown[]
    try {
      await replay(aloneProducer, alone.topics.predictions, history(alone.modelId, start))
      await alone.run({}, async () => {
        await waitFor(() => windowsSettled(alone.ch, alone.modelId, LATENESS), { timeoutMs: 60_000, what: 'the windows alone' })
        await new Promise((r) => setTimeout(r, 3_000))
      })
      expected = await computed(alone.ch, alone.modelId)
      expectedTransitions = await transitions(alone.ch, alone.modelId)
    } finally {
      await aloneProducer.disconnect()
      await alone.close()
    }
    const summaries = (expected as { summaries: { window_size_ms: number; segment: string; window_start: number; volume: number; closed: number }[] }).summaries
    const hourly = summaries.filter((s) => s.window_size_ms === HOUR && s.segment === 'all')
    expect(hourly.map((s) => [s.window_start, s.volume, s.closed])).toEqual(
      Array.from({ length: 6 }, (_, h) => [start + h * HOUR, 300, start + h * HOUR < lastClosed ? 1 : 0]),
    )
    expect(expectedTransitions.length).toBeGreaterThan(0)

    // Beside a live model: half the partitions' history first, the rest three seconds later (a
    // replay whose partitions run unevenly), each stamped with its old event time.
    const shared = await monitorRun(registry.url, 'backfill', '', ['live'])
    const live = shared.otherIds[0]!
    const producer = shared.kafka.producer()
    await producer.connect()
    try {
      await shared.run({}, async () => {
        const traffic = liveTraffic((events) => shared.send(shared.topics.predictions, events), live)
        try {
          await new Promise((r) => setTimeout(r, 2_000))
          const records = history(shared.modelId, start)
          await replay(
            producer,
            shared.topics.predictions,
            records.filter((r) => r.partition < PARTITIONS / 2),
          )
          await new Promise((r) => setTimeout(r, 3_000))
          await replay(
            producer,
            shared.topics.predictions,
            records.filter((r) => r.partition >= PARTITIONS / 2),
          )
          // Waited for, then compared below (a difference shows there).
          await waitFor(async () => JSON.stringify(await computed(shared.ch, shared.modelId)) === JSON.stringify(expected), {
            timeoutMs: 60_000,
            what: 'the backfilled windows',
          }).catch(() => undefined)
          await new Promise((r) => setTimeout(r, 3_000))
        } finally {
          await traffic.stop()
        }
      })
      expect(await computed(shared.ch, shared.modelId)).toEqual(expected)
      // Nothing was judged on part of a window: every judgement of each closed window (read
      // without FINAL, each is a row until a merge) saw the same data, all of it, and the alerts
      // went out as they did alone.
      const judged = await shared.ch.query<{ window_start: number; versions: number }>(
        `SELECT window_start, uniqExact(data_version) AS versions FROM ${shared.ch.table('window_evaluations')}
         WHERE model_id = ${lit(shared.modelId)} AND window_size_ms = ${HOUR} AND segment = 'all' GROUP BY window_start ORDER BY window_start`,
      )
      expect(judged.map((r) => [Number(r.window_start), Number(r.versions)])).toEqual(Array.from({ length: 5 }, (_, h) => [start + h * HOUR, 1]))
      expect(await transitions(shared.ch, shared.modelId)).toEqual(expectedTransitions)
    } finally {
      await producer.disconnect()
      await shared.close()
    }
  })

  it('a model that goes silent while another stays live has its windows closed and raises absent traffic', async () => {
    const { modelId, otherIds, ch, topics, send, run, close } = await monitorRun(registry.url, 'silent', '', ['busy'])
    // Four days of hourly traffic (50 to 69 predictions an hour), ending four hours ago.
    const end = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR
    const first = end - 96 * HOUR
    const events: PredictionEvent[] = []
    for (let h = 0; h < 96; h++) {
      const n = 50 + ((h * 7) % 20)
      for (let i = 0; i < n; i++) events.push(prediction(modelId, `${modelId}-${h}-${i}`, first + h * HOUR + Math.floor((i * HOUR) / n), i))
    }
    await send(topics.predictions, events)
    try {
      await run({ idleCloseMs: 2_000 }, async () => {
        const traffic = liveTraffic((batch) => send(topics.predictions, batch), otherIds[0]!)
        try {
          await expectAbsentTraffic(ch, modelId, end)
        } finally {
          await traffic.stop()
        }
      })
      const [last] = await ch.query<{ closed: number; volume: number }>(
        `SELECT closed, volume FROM ${ch.table('window_summary')} FINAL
         WHERE model_id = ${lit(modelId)} AND window_size_ms = ${HOUR} AND segment = 'all' AND window_start = ${end - HOUR}`,
      )
      expect([Number(last?.closed), Number(last?.volume)]).toEqual([1, 50 + ((95 * 7) % 20)])
    } finally {
      await close()
    }
  })
})
