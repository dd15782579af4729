import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import { readTopic } from '../../services/shared/kafka/read-topic.ts'
import { waitFor } from '../support/harness.ts'
import { HOUR } from '../support/monitor-fixture.ts'
import { fixturePrediction, monitorRun } from '../support/monitor-run.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'

// Labels that arrive while their predictions are held back (a stalled producer or consumer) lower
// the join rate and raise a join-health alert. Once the predictions arrive and the labels join,
// windows are judged again with the new counts (nothing else touches them: the predictions
// belong to earlier windows) and the alert resolves, once.

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

const PER_HOUR = 100
const HOURS = 10
/** Hours whose labels come before their predictions. */
const STALLED = [6, 7, 8]

describe('a join-health alert raised during a stall', () => {
  it('resolves once the labels have joined', async () => {
    const { modelId, kafka, ch, topics, send, run, close } = await monitorRun(registry.url, 'join', '    join_grace: 1s\n')
    const start = Math.floor(Date.now() / HOUR) * HOUR - 14 * HOUR
    const at = (h: number, i: number): number => start + h * HOUR + Math.floor((i * HOUR) / PER_HOUR)
    const label = (id: string, labelTime: number): LabelEvent => ({
      prediction_id: id,
      model_id: modelId,
      label_time: labelTime,
      label_class: '1',
      label_value: null,
    })
    const predictions: PredictionEvent[] = []
    const labels: LabelEvent[] = []
    const heldBack: PredictionEvent[] = []
    for (let h = 0; h < HOURS; h++) {
      for (let i = 0; i < PER_HOUR; i++) {
        predictions.push(fixturePrediction(modelId, `${modelId}-${h}-${i}`, at(h, i), i))
        if (h < STALLED[0]!) labels.push(label(`${modelId}-${h}-${i}`, at(h, i) + 1_000))
        if (STALLED.includes(h)) {
          // Made five hours before their label, in windows the stall does not touch.
          heldBack.push(fixturePrediction(modelId, `${modelId}-late-${h}-${i}`, at(h - 5, i), i))
          labels.push(label(`${modelId}-late-${h}-${i}`, at(h, i) + 1_000))
        }
      }
    }
    const joinAlert = async () =>
      (
        await ch.query<{ alert_id: string; status: string; first_seen: number }>(
          `SELECT alert_id, status, first_seen FROM ${ch.table('alerts')} FINAL
           WHERE model_id = ${lit(modelId)} AND kind = 'join_health' AND subject = 'join_rate'`,
        )
      )[0]
    try {
      await send(topics.predictions, predictions)
      await send(topics.labels, labels)
      let fired = ''
      await run({ labelHealthIntervalMs: 500 }, async () => {
        const alert = await waitFor(async () => ((await joinAlert())?.status === 'firing' ? joinAlert() : null), {
          timeoutMs: 60_000,
          what: 'a join-rate alert on the stalled hours',
        })
        expect(alert.first_seen).toBe(start + STALLED[0]! * HOUR)
        fired = alert.alert_id
        // The held-back predictions arrive: every label joins.
        await send(topics.predictions, heldBack)
        await waitFor(async () => ((await joinAlert())?.status === 'resolved' ? true : null), { timeoutMs: 60_000, what: 'the join-rate alert to resolve' })
      })
      const [health] = await ch.query<{ received: number; joined: number }>(
        `SELECT sum(labels_received) AS received, sum(labels_joined) AS joined FROM ${ch.table('label_health')} FINAL WHERE model_id = ${lit(modelId)}`,
      )
      expect([Number(health!.received), Number(health!.joined)]).toEqual([labels.length, labels.length])
      // One alert, fired once and resolved once.
      const codec = EventCodec.forRegistry(registry.url)
      const triggers = await Promise.all(
        (await readTopic(kafka, topics.triggers, { toEnd: true, timeoutMs: 5_000 })).map(async (r) => (await codec.decode(r.value, 'MonitorTrigger')).event),
      )
      const joins = triggers.filter((t) => t.kind === 'join_health')
      expect(new Set(joins.map((t) => t.alert_id))).toEqual(new Set([fired]))
      expect(joins[0]!.status).toBe('firing')
      expect(joins.filter((t) => t.status === 'resolved')).toHaveLength(1)
    } finally {
      await close()
    }
  })
})
