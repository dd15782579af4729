import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import { waitFor } from '../support/harness.ts'
import { HOUR } from '../support/monitor-fixture.ts'
import { fixturePrediction as prediction, monitorRun } from '../support/monitor-run.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'
import { expectAbsentTraffic, readWindowSummaries } from '../support/window-reads.ts'

// A model that stops sending: its last window has no later prediction to close it. With
// MONITOR_IDLE_CLOSE_MS off it stays open however long the monitor waits; on, it is closed by
// processing time once every partition is read and the model has been quiet that long, judged by
// the detectors, and stays closed when a later computation (a label arriving, another instance)
// reads it again.

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

describe('a window without a later prediction', () => {
  it('stays open without idle closing, closes after the idle time with it, and stays closed', async () => {
    const { modelId, ch, topics, send, run, close } = await monitorRun(registry.url, 'idle')
    const start = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR
    await send(
      topics.predictions,
      Array.from({ length: 300 }, (_, i) => prediction(modelId, `${modelId}-${i}`, start + i * 10_000, i)),
    )
    const hourWindow = async () => (await readWindowSummaries(ch, modelId)).get(`v1|all|${HOUR}|${start}`)
    const evaluations = async (): Promise<number> => {
      const [row] = await ch.query<{ n: number }>(
        `SELECT count() AS n FROM ${ch.table('window_evaluations')} WHERE model_id = ${lit(modelId)} AND window_size_ms = ${HOUR} AND window_start = ${start} AND segment = 'all'`,
      )
      return Number(row?.n ?? 0)
    }
    try {
      // Off: past the partitions' own idle time (10 s) and then some, the window is still open.
      await run({ idleCloseMs: 0 }, async () => {
        await waitFor(async () => (await hourWindow())?.volume === 300, { timeoutMs: 30_000, what: 'the window computed' })
        await new Promise((r) => setTimeout(r, 15_000))
      })
      expect((await hourWindow())?.closed).toBe(0)
      expect(await evaluations()).toBe(0)

      // On: closed by processing time and judged.
      await run({ idleCloseMs: 2_000 }, async () => {
        await waitFor(async () => (await hourWindow())?.closed === 1, { timeoutMs: 60_000, what: 'the idle window to close' })
        await waitFor(async () => (await evaluations()) > 0, { timeoutMs: 30_000, what: 'the closed window to be judged' })
      })
      const [recorded] = await ch.query<{ n: number }>(
        `SELECT count() AS n FROM ${ch.table('window_idle_closes')} WHERE model_id = ${lit(modelId)} AND window_start = ${start}`,
      )
      expect(Number(recorded?.n)).toBeGreaterThan(0)
      expect((await hourWindow())?.volume).toBe(300)

      // A label recomputes the window later, with idle closing off: it stays closed.
      const label: LabelEvent = { prediction_id: `${modelId}-7`, model_id: modelId, label_time: start + 2 * HOUR, label_class: '1', label_value: null }
      await send(topics.labels, [label])
      await run({ idleCloseMs: 0 }, async () => {
        await waitFor(async () => (await hourWindow())?.labeled_count === 1, { timeoutMs: 30_000, what: 'the label to reach the window' })
      })
      expect((await hourWindow())?.closed).toBe(1)
    } finally {
      await close()
    }
  })

  it('a model that stops sending raises a volume anomaly on the empty windows after its last one', async () => {
    const { modelId, ch, topics, send, run, close } = await monitorRun(registry.url, 'silent')
    // Four days of hourly traffic (50 to 69 predictions an hour), ending four hours ago.
    const end = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR
    const first = end - 96 * HOUR
    const events: PredictionEvent[] = []
    for (let h = 0; h < 96; h++) {
      const n = 50 + ((h * 7) % 20)
      for (let i = 0; i < n; i++) {
        events.push(prediction(modelId, `${modelId}-${h}-${i}`, first + h * HOUR + Math.floor((i * HOUR) / n), i))
      }
    }
    await send(topics.predictions, events)
    try {
      await run({ idleCloseMs: 2_000 }, async () => {
        await expectAbsentTraffic(ch, modelId, end)
      })
      // The empty windows are stored as such: volume 0, closed, after the last window with traffic.
      const summaries = [...(await readWindowSummaries(ch, modelId)).values()].filter((r) => r.window_size_ms === HOUR && r.segment === 'all')
      const silent = summaries.filter((r) => r.window_start >= end)
      expect(silent.length).toBeGreaterThanOrEqual(2)
      expect(silent.every((r) => r.volume === 0 && r.closed === 1)).toBe(true)
      expect(summaries.filter((r) => r.window_start < end).every((r) => r.volume >= 50)).toBe(true)
    } finally {
      await close()
    }
  })

  it('a segment that stops sending while the model goes on raises a volume anomaly on that segment', async () => {
    const { modelId, ch, topics, send, run, close } = await monitorRun(registry.url, 'segment')
    // Four days of hourly traffic in both segments (50 to 69 predictions an hour each); new
    // entities stop four hours ago, the others go on until a minute ago.
    const now = Date.now() - 60_000
    const silentFrom = Math.floor(now / HOUR) * HOUR - 4 * HOUR
    const first = silentFrom - 96 * HOUR
    const events: PredictionEvent[] = []
    for (let t = first, h = 0; t < now; t += HOUR, h++) {
      const n = 50 + ((h * 7) % 20)
      for (const segment of ['yes', 'no']) {
        if (segment === 'yes' && t >= silentFrom) continue
        for (let i = 0; i < n && t + Math.floor((i * HOUR) / n) < now; i++)
          events.push({ ...prediction(modelId, `${modelId}-${segment}-${h}-${i}`, t + Math.floor((i * HOUR) / n), i), segments: { new_entity: segment } })
      }
    }
    await send(topics.predictions, events)
    try {
      await run({}, async () => {
        await expectAbsentTraffic(ch, modelId, silentFrom, 'new_entity=yes')
      })
    } finally {
      await close()
    }
  })
})
