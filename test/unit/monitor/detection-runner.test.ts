import { createHash } from 'node:crypto'
import avro from 'avsc'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { AlertPublisher } from '../../../services/monitor/run/alert-publisher.ts'
import { DetectionRunner } from '../../../services/monitor/run/detection-runner.ts'
import { buildRuntimeModel } from '../../../services/monitor/core/runtime-model.ts'
import type { ComputedWindows } from '../../../services/monitor/store/window-store.ts'
import type { ClickHouse } from '../../../services/shared/clickhouse/client.ts'
import type { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import { schemaText } from '../../../services/shared/codec/schemas.ts'
import type { MonitorTrigger } from '../../../services/shared/events/types.ts'
import type { RecordProducer } from '../../../services/shared/kafka/producer.ts'
import { HOUR, T0, driftFinding, modelConfig, summary, windowKey } from '../detectors/synthetic.ts'

// The detection runner against an in-memory stand-in for the three tables it reads and writes
// (window_evaluations, alerts, alert_events; the history tables read as empty), with
// ReplacingMergeTree's FINAL done by hand: the newest version of each key wins.

type Row = Record<string, unknown>

class MemoryClickHouse {
  readonly database = 'db'
  readonly tables = new Map<string, Row[]>()

  table(name: string): string {
    return `db.${name}`
  }

  async insert(table: string, rows: readonly object[]): Promise<void> {
    this.tables.set(table, [...(this.tables.get(table) ?? []), ...rows.map((r) => JSON.parse(JSON.stringify(r)) as Row)])
  }

  /** The latest row per key (the last inserted among equal versions), as FINAL reads it. */
  final(table: string, key: (r: Row) => string, version: (r: Row) => bigint): Row[] {
    const latest = new Map<string, Row>()
    for (const r of this.tables.get(table) ?? []) {
      const k = key(r)
      const seen = latest.get(k)
      if (!seen || version(r) >= version(seen)) latest.set(k, r)
    }
    return [...latest.values()]
  }

  async query<T>(sql: string): Promise<T[]> {
    const quoted = (list: string | undefined): string[] => (list ?? '').split(',').map((s) => s.trim().replace(/^'|'$/g, ''))
    if (sql.includes('db.window_evaluations')) {
      const segments = quoted(/segment IN \(([^)]*)\)/.exec(sql)?.[1])
      const from = Number(/window_start >= (-?\d+)/.exec(sql)?.[1])
      const rows = this.final(
        'window_evaluations',
        (r) => JSON.stringify([r.model_id, r.window_size_ms, r.model_version, r.segment, r.window_start]),
        (r) => BigInt(String(r.data_version)),
      )
      return rows
        .filter((r) => segments.includes(String(r.segment)) && Number(r.window_start) >= from)
        .sort((a, b) => Number(a.window_start) - Number(b.window_start)) as T[]
    }
    if (sql.includes('db.alerts')) {
      const rows = this.final(
        'alerts',
        (r) => JSON.stringify([r.model_id, r.alert_id]),
        (r) => BigInt(String(r.version)),
      )
      const ids = /alert_id IN \(([^)]*)\)/.exec(sql)
      return (ids ? rows.filter((r) => quoted(ids[1]).includes(String(r.alert_id))) : rows) as T[]
    }
    return [] // window_summary, window_feature_stats, label_health: no history
  }
}

function setUp() {
  const ch = new MemoryClickHouse()
  const sent: MonitorTrigger[] = []
  // Every trigger must still fit the Avro contract as it is.
  const contract = avro.Type.forSchema(JSON.parse(schemaText('MonitorTrigger')) as avro.Schema)
  const codec = { encode: async (_topic: string, _name: string, record: MonitorTrigger) => contract.toBuffer(record) } as unknown as EventCodec
  const producer: RecordProducer = {
    send: async (_topic, records) => void sent.push(...records.map((r) => contract.fromBuffer(r.value as Buffer) as MonitorTrigger)),
    close: async () => undefined,
  }
  const logger = pino({ level: 'silent' })
  const runner = (): DetectionRunner =>
    new DetectionRunner({
      ch: ch as unknown as ClickHouse,
      publisher: new AlertPublisher({ ch: ch as unknown as ClickHouse, codec, producer, triggersTopic: 'triggers', logger }),
      logger,
    })
  return { ch, sent, runner }
}

const model = buildRuntimeModel(modelConfig(), null)

/** Closed windows of the model as the window store hands them over (no features: nothing for the detectors to find). */
function computed(starts: number[], version: string): ComputedWindows {
  return {
    summaries: starts.map((s) => summary(windowKey(s), { volume: 1000 })),
    features: [],
    featuresReused: [],
    featuresMerged: [],
    deferred: [],
    versions: new Map(starts.map((s) => [s, version])),
    closedStarts: starts,
    blocked: [],
    rereads: 0,
  }
}

describe('detection runner', () => {
  it('withdraws a published firing alert whose windows, evaluated again, no longer give it: resolved once, the same way on a second instance', async () => {
    const { ch, sent, runner } = setUp()
    // Windows 0-2 were evaluated with a drift finding each (rows in the format written before
    // not_judged existed: a bare array of findings).
    await ch.insert(
      'window_evaluations',
      [0, 1, 2].map((i) => ({ ...windowKey(T0 + i * HOUR), findings_json: JSON.stringify([driftFinding(T0 + i * HOUR)]), data_version: '1', evaluated_at: 0 })),
    )
    // Window 3 closes: the fold over windows 0-3 fires the drift alert (2 of 3) and updates it at window 2.
    await runner().onWindowsComputed(model, computed([T0 + 3 * HOUR], '1'))
    const id = createHash('sha256')
      .update(JSON.stringify(['churn', 'drift', 'features', 'all', HOUR, T0]))
      .digest('hex')
      .slice(0, 32)
    expect(sent.map((t) => [t.alert_id, t.status, t.first_seen, t.last_seen])).toEqual([
      [id, 'firing', T0, T0 + HOUR],
      [id, 'firing', T0, T0 + 2 * HOUR],
    ])
    const fired = sent[1]!

    // Late data: windows 0-2 are computed again (newer version) and their evaluations no longer
    // hold any finding. The drift identity appears in no evaluation any more.
    sent.length = 0
    await runner().onWindowsComputed(model, computed([T0, T0 + HOUR, T0 + 2 * HOUR], '2'))
    expect(sent).toHaveLength(1)
    const resolved = sent[0]!
    // The published state, resolved: same id, severity and last_seen (so Alertmanager gets the same
    // labels and every consumer orders it after the firing state), with why in the summary.
    expect(resolved).toEqual({ ...fired, status: 'resolved', summary: resolved.summary })
    expect(resolved.summary).toBe(
      'RESOLVED drift/features on churn v1, segment all, 1h windows: withdrawn, re-evaluation of its windows no longer finds it ' +
        '(late data, e.g. labels, changed them since it fired); it had fired for the windows from 2024-01-01 00:00Z to 2024-01-01 03:00Z.',
    )
    const state = await ch.query<{ alert_id: string; status: string; last_seen: number }>('SELECT * FROM db.alerts FINAL')
    expect(state.map((r) => [r.alert_id, r.status, r.last_seen])).toEqual([[id, 'resolved', T0 + 2 * HOUR]])

    // A second instance (or a replay) over the same stored data publishes nothing more.
    await runner().onWindowsComputed(model, computed([T0, T0 + HOUR, T0 + 2 * HOUR], '2'))
    await runner().onWindowsComputed(model, computed([T0 + 3 * HOUR], '1'))
    expect(sent).toHaveLength(1)
  })

  it('withdraws an alert whose latest findings were taken back instead of sending an older state again and again', async () => {
    const { ch, sent, runner } = setUp()
    await ch.insert(
      'window_evaluations',
      [0, 1, 2, 3].map((i) => ({
        ...windowKey(T0 + i * HOUR),
        findings_json: JSON.stringify([driftFinding(T0 + i * HOUR)]),
        data_version: '1',
        evaluated_at: 0,
      })),
    )
    await runner().onWindowsComputed(model, computed([T0 + 4 * HOUR], '1'))
    const id = createHash('sha256')
      .update(JSON.stringify(['churn', 'drift', 'features', 'all', HOUR, T0]))
      .digest('hex')
      .slice(0, 32)
    expect(sent.at(-1)).toMatchObject({ alert_id: id, status: 'firing', last_seen: T0 + 3 * HOUR })
    sent.length = 0

    // Windows 2 and 3 lose their findings, and windows 4-6 are judged clean. The fold now
    // resolves the episode with last_seen at window 1: an older state than the published one
    // (window 3), which the alerts table and the policy both order before it, so sending it
    // would change nothing and be sent again on every evaluation.
    const clean = (i: number) => ({ ...windowKey(T0 + i * HOUR), findings_json: '[]', data_version: '2', evaluated_at: 0 })
    await ch.insert('window_evaluations', [2, 3, 4, 5, 6].map(clean))
    await runner().onWindowsComputed(model, computed([T0 + 7 * HOUR], '1'))
    expect(sent.map((t) => [t.alert_id, t.status, t.last_seen])).toEqual([[id, 'resolved', T0 + 3 * HOUR]])
    expect(sent[0]!.summary).toMatch(/withdrawn, re-evaluation of its windows no longer finds it/)
    await runner().onWindowsComputed(model, computed([T0 + 7 * HOUR], '1'))
    expect(sent).toHaveLength(1)
  })
})
