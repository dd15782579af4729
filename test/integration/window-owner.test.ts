import type { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ownerPartition } from '../../services/monitor/core/windows/window-owner.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { groupCaughtUp, uniqueId, waitFor } from '../support/harness.ts'
import { fixturePrediction, monitorRun } from '../support/monitor-run.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

const HOUR = 3_600_000
const W1 = Date.UTC(2026, 10, 2, 10)
const counter = async (r: Registry, name: string, labels: Record<string, string> = {}): Promise<number> =>
  (await r.getSingleMetric(name)!.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0)

describe('two monitor instances in one group', () => {
  it("compute a model's windows on the instance owning it, even one only the other's records touch; the other commits once the owner's computation covers its records", async () => {
    const m = await monitorRun(registry.url, 'owner')
    const producer = m.kafka.producer()
    await producer.connect()
    try {
      // Six partitions, two members: the co-partitioning assignor splits them by parity.
      const owned = ownerPartition(m.modelId, 6)
      const elsewhere = (owned + 1) % 6
      let n = 0
      const send = async (partition: number, count: number): Promise<void> => {
        const events = Array.from({ length: count }, () => fixturePrediction(m.modelId, `p-${uniqueId()}`, W1 + 60_000 * (n % 50), n++))
        await producer.send({
          topic: m.topics.predictions,
          messages: events.map((e) => ({ partition, key: e.prediction_id, value: Buffer.from(JSON.stringify(e)) })),
        })
      }
      const volume = async (): Promise<number> => {
        const [row] = await m.ch.query<{ v: number }>(
          `SELECT sum(volume) AS v FROM ${m.ch.table('window_summary')} FINAL
           WHERE model_id = ${lit(m.modelId)} AND window_size_ms = ${HOUR} AND window_start = ${W1} AND segment = 'all'`,
        )
        return Number(row?.v ?? 0)
      }
      const caughtUp = (): Promise<boolean> => groupCaughtUp(m.kafka, m.groupId, [m.topics.predictions, m.topics.labels])
      const stored = (r: Registry): Promise<number> => counter(r, 'driftgate_records_total', { topic: m.topics.predictions, outcome: 'stored' })

      await m.run(
        { refreshMs: 200, roundDelayMs: 200, backlogRefreshMs: 0, ownerWaitMs: 6_000 },
        async (registries) => {
          const admin = m.kafka.admin()
          await admin.connect()
          await waitFor(
            async () => {
              const [group] = (await admin.describeGroups([m.groupId])).groups
              return group?.state === 'Stable' && group.members.length === 2
            },
            { what: 'both members in the group' },
          )
          await admin.disconnect()

          // Records only on a partition of the other instance: the owner has none of the window to
          // mark it by; the other asks it to (window_requests), and only the owner computes it.
          await send(elsewhere, 20)
          await waitFor(caughtUp, { timeoutMs: 60_000, what: 'the records committed' })
          expect(await volume()).toBe(20)
          const [a, b] = registries as [Registry, Registry]
          const [other, owner] = (await stored(a)) === 20 ? [a, b] : [b, a]
          expect(await stored(other)).toBe(20)
          expect(await counter(other, 'driftgate_windows_recomputed_total')).toBe(0)
          expect(await counter(owner, 'driftgate_windows_recomputed_total')).toBeGreaterThan(0)
          expect(await counter(other, 'driftgate_windows_covered_elsewhere_total')).toBeGreaterThan(0)

          // More records there, then some on the owner's partition: the owner's computation covers
          // both, and the other commits without computing anything.
          await send(elsewhere, 10)
          await waitFor(async () => (await stored(other)) === 30, { what: 'the other instance storing its records' })
          // Coverage is judged in whole ClickHouse seconds: a computation that starts in the second
          // the records were stored in does not count.
          await new Promise((resolve) => setTimeout(resolve, 1_100))
          await send(owned, 5)
          await waitFor(caughtUp, { timeoutMs: 60_000, what: 'the records committed' })
          expect(await volume()).toBe(35)
          expect(await stored(owner)).toBe(5)
          expect(await counter(other, 'driftgate_windows_recomputed_total')).toBe(0)
          expect(await counter(other, 'driftgate_windows_covered_elsewhere_total')).toBeGreaterThan(0)
          expect(await counter(owner, 'driftgate_windows_recomputed_total')).toBeGreaterThan(0)
        },
        2,
      )
    } finally {
      await producer.disconnect()
      await m.close()
    }
  })
})
