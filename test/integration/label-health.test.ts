import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import type { RuntimeModel } from '../../services/monitor/core/runtime-model.ts'
import { LabelHealth, type LabelHealthRow } from '../../services/monitor/store/label-health.ts'
import { evidenceQueries } from '../../services/monitor/store/evidence-sql.ts'
import { freshClickHouse } from '../support/harness.ts'
import { prng } from '../support/traffic.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const MODEL = 'label-health-model'
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0)
const ORPHAN_AFTER = HOUR
const JOIN_GRACE = 5 * 60_000
const LOOKBACK = 7 * DAY
// LabelHealth reads only these fields of the model.
const model = { config: { model_id: MODEL, windows: [HOUR, DAY], orphan_after: ORPHAN_AFTER, join_grace: JOIN_GRACE } } as unknown as RuntimeModel

interface Label {
  id: string
  labelTime: number
  ingestedAt: number
}

let db: { ch: ClickHouse; drop(): Promise<void> }

beforeAll(async () => {
  db = await freshClickHouse()
})
afterAll(async () => db?.drop())

async function storePredictions(ids: string[]): Promise<void> {
  await db.ch.insert(
    'predictions',
    ids.map((id, i) => ({
      prediction_id: id,
      model_id: MODEL,
      model_version: 'v1',
      event_time: NOW - 9 * DAY,
      event_date: '2026-11-11',
      kafka_offset: i,
      kafka_timestamp: NOW - 9 * DAY,
      ingested_at: NOW - 9 * DAY,
    })),
  )
}

async function storeLabels(labels: Label[]): Promise<void> {
  await db.ch.insert(
    'labels',
    labels.map((l, i) => ({
      prediction_id: l.id,
      model_id: MODEL,
      label_time: l.labelTime,
      label_date: new Date(l.labelTime).toISOString().slice(0, 10),
      label_class: '1',
      kafka_offset: i,
      kafka_timestamp: l.ingestedAt,
      ingested_at: l.ingestedAt,
    })),
  )
}

/** What the join health must be, computed from the lists alone. */
function expected(labels: Label[], predicted: Set<string>, now: number): LabelHealthRow[] {
  const newest = Math.max(...labels.map((l) => l.labelTime))
  const since = Math.floor((newest - LOOKBACK) / HOUR) * HOUR
  const byId = new Map<string, { latest: number; firstSeen: number }>()
  for (const l of labels) {
    if (l.labelTime < since) continue
    const seen = byId.get(l.id)
    byId.set(l.id, { latest: Math.max(seen?.latest ?? 0, l.labelTime), firstSeen: Math.min(seen?.firstSeen ?? Infinity, l.ingestedAt) })
  }
  const windows = new Map<number, LabelHealthRow>()
  for (const [id, { latest, firstSeen }] of byId) {
    const start = Math.floor(latest / HOUR) * HOUR
    const row = windows.get(start) ?? {
      model_id: MODEL,
      window_size_ms: HOUR,
      window_start: start,
      labels_received: 0,
      labels_joined: 0,
      labels_orphaned: 0,
      labels_pending: 0,
    }
    row.labels_received++
    if (predicted.has(id)) row.labels_joined++
    else if (firstSeen < now - ORPHAN_AFTER) row.labels_orphaned++
    else if (firstSeen >= now - JOIN_GRACE) row.labels_pending++
    windows.set(start, row)
  }
  return [...windows.values()].sort((a, b) => a.window_start - b.window_start)
}

async function orphanState(): Promise<Map<string, { resolved: number; versions: number }>> {
  const rows = await db.ch.query<{ prediction_id: string; resolved: number; versions: number }>(
    `SELECT prediction_id, argMax(resolved, version) AS resolved, count() AS versions FROM ${db.ch.table('orphan_labels')} WHERE model_id = '${MODEL}' GROUP BY prediction_id`,
  )
  return new Map(rows.map((r) => [r.prediction_id, { resolved: Number(r.resolved), versions: Number(r.versions) }]))
}

describe('label join health', () => {
  it('counts received, joined, pending and orphaned labels per window, records orphans once and resolves them when their prediction arrives', async () => {
    const rand = prng(11)
    const labels: Label[] = []
    const predicted = new Set<string>()
    for (let i = 0; i < 3_000; i++) {
      const id = `p${i}`
      // Label times over the last ten days (some before the lookback), arrival up to 3 h later.
      const labelTime = NOW - Math.floor(rand() * 10 * DAY)
      labels.push({ id, labelTime, ingestedAt: Math.min(NOW, labelTime + Math.floor(rand() * 3 * HOUR)) })
      // Corrections: a second label for some, in another window.
      if (rand() < 0.1) labels.push({ id, labelTime: labelTime + Math.floor(rand() * DAY), ingestedAt: Math.min(NOW, labelTime + DAY) })
      if (rand() < 0.8) predicted.add(id)
    }
    // Labels that arrived in the last two join_grace periods: unjoined ones of the last period
    // are pending.
    for (let i = 0; i < 400; i++) {
      const id = `fresh${i}`
      const ingestedAt = NOW - Math.floor(rand() * 2 * JOIN_GRACE)
      labels.push({ id, labelTime: ingestedAt - Math.floor(rand() * 60_000), ingestedAt })
      if (rand() < 0.5) predicted.add(id)
    }
    // An orphan recorded long ago, outside the lookback, whose prediction is stored now.
    await db.ch.insert('orphan_labels', [
      { model_id: MODEL, prediction_id: 'ancient', label_time: NOW - 60 * DAY, first_seen: NOW - 60 * DAY, resolved: 0, version: NOW - 59 * DAY },
    ])
    await storePredictions([...predicted, 'ancient'])
    await storeLabels(labels)

    const health = new LabelHealth(db.ch, () => NOW)
    const first = await health.update(model, LOOKBACK)
    const want = expected(labels, predicted, NOW)
    expect(first.rows).toEqual(want)
    // Nothing was stored before: every window's counts are new.
    expect(first.changed).toEqual(want.map((r) => r.window_start))
    const orphaned = want.reduce((s, r) => s + r.labels_orphaned, 0)
    expect(orphaned).toBeGreaterThan(100)
    expect(want.reduce((s, r) => s + r.labels_joined, 0)).toBeGreaterThan(1_000)
    expect(want.reduce((s, r) => s + r.labels_pending, 0)).toBeGreaterThan(50)

    // Stored rows are the returned ones.
    const stored = await db.ch.query<LabelHealthRow>(
      `SELECT model_id, window_size_ms, window_start, labels_received, labels_joined, labels_orphaned, labels_pending FROM ${db.ch.table('label_health')} FINAL WHERE model_id = '${MODEL}' ORDER BY window_start`,
    )
    expect(stored).toEqual(want)
    // The evidence query an alert carries runs here and gives the join rate the detector judges.
    const last = want[want.length - 1]!
    const evidence = await db.ch.query<{ window_start: number; join_rate: number | null }>(
      evidenceQueries(db.ch.database).labelHealth(MODEL, HOUR, last.window_start, 10_000),
    )
    expect(evidence.map((r) => [r.window_start, r.join_rate])).toEqual(
      want.map((r) => [r.window_start, r.labels_received === r.labels_pending ? null : r.labels_joined / (r.labels_received - r.labels_pending)]),
    )

    let orphans = await orphanState()
    expect(orphans.get('ancient')).toEqual({ resolved: 1, versions: 2 })
    const open = [...orphans].filter(([, o]) => o.resolved === 0).map(([id]) => id)
    expect(open).toHaveLength(orphaned)

    // A second run records no orphan twice; then the missing predictions turn up and every open
    // orphan is resolved.
    expect((await health.update(model, LOOKBACK)).changed).toEqual([])
    orphans = await orphanState()
    for (const id of open) expect(orphans.get(id)).toEqual({ resolved: 0, versions: 1 })
    await storePredictions(open)
    const later = NOW + HOUR
    const health2 = new LabelHealth(db.ch, () => later)
    const after = await health2.update(model, LOOKBACK)
    const wantAfter = expected(labels, new Set([...predicted, ...open]), later)
    expect(after.rows).toEqual(wantAfter)
    // Changed: the windows whose counts the late predictions (and the hour that passed) moved.
    const previous = new Map(want.map((r) => [r.window_start, r]))
    const moved = wantAfter.filter((r) => JSON.stringify(r) !== JSON.stringify(previous.get(r.window_start))).map((r) => r.window_start)
    expect(moved.length).toBeGreaterThan(10)
    expect(after.changed).toEqual(moved)
    orphans = await orphanState()
    for (const id of open) expect(orphans.get(id), id).toEqual({ resolved: 1, versions: 2 })

    // Labels all older than the lookback (a replay of past data): the lookback still runs back
    // from the newest label.
    const replayed = NOW + 30 * DAY
    expect((await new LabelHealth(db.ch, () => replayed).update(model, LOOKBACK)).rows).toEqual(expected(labels, new Set([...predicted, ...open]), replayed))
  })
})
