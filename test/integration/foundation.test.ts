import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DecodeError } from '../../services/shared/codec/decode-error.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import type { PredictionEvent } from '../../services/shared/events/types.ts'
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { DEFAULT_MIGRATIONS_DIR, loadMigrations, migrate } from '../../services/shared/clickhouse/migrate.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { createBatchConsumer } from '../../services/shared/kafka/batch-consumer.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import { deferred } from '../../services/shared/async/deferred.ts'
import type { ConsumedRecord } from '../../services/shared/kafka/records.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'
import { samplePrediction } from '../support/events.ts'
import { CLICKHOUSE_URL, freshClickHouse, freshTopics, testLogger, uniqueId, waitFor } from '../support/harness.ts'

let registry: RegistryDouble
beforeAll(async () => {
  registry = await startRegistryDouble()
})
afterAll(() => registry.close())

/** A predictions row as the monitor stores it (one numeric feature). */
const storedPrediction = (id: string, eventTime: number, offset: number): Record<string, unknown> => ({
  prediction_id: id,
  model_id: 'm',
  model_version: 'v1',
  event_time: eventTime,
  event_date: new Date(eventTime).toISOString().slice(0, 10),
  numeric_names: ['a'],
  numeric_values: [offset / 4],
  categorical_names: [],
  categorical_values: [],
  predicted_class: '1',
  score: 0.5,
  class_names: [],
  class_scores: [],
  predicted_value: null,
  segment_names: [],
  segment_values: [],
  kafka_partition: 0,
  kafka_offset: offset,
  kafka_timestamp: eventTime + 5,
  ingested_at: eventTime + 9,
})

describe('events through the real Kafka broker', () => {
  it('an Avro prediction (Confluent framing) and a JSON one are produced, consumed and decoded field for field; a malformed one is rejected', async () => {
    const { kafka, topics } = await freshTopics()
    const codec = EventCodec.forRegistry(registry.url)
    const producer = await createProducer(kafka)
    const avroEvent = samplePrediction({ prediction_id: `avro-${uniqueId()}` })
    const jsonEvent = samplePrediction({ prediction_id: `json-${uniqueId()}`, prediction: { predicted_class: null, scores: {}, value: 12.5 } })
    await producer.send(topics.predictions, [
      { key: avroEvent.prediction_id, value: await codec.encode(topics.predictions, 'PredictionEvent', avroEvent) },
      { key: jsonEvent.prediction_id, value: Buffer.from(JSON.stringify(jsonEvent)) },
      { key: 'bad', value: Buffer.from('{"prediction_id": "bad", "model_id": 7}') },
    ])
    await producer.close()

    const received: ConsumedRecord[] = []
    const consumer = createBatchConsumer(
      kafka,
      { groupId: `g-${uniqueId()}`, topics: [topics.predictions], handleBatch: async (records) => void received.push(...records) },
      testLogger(),
    )
    await consumer.start()
    await waitFor(() => received.length >= 3, { what: 'three records' })
    await consumer.stop()

    const byKey = new Map(received.map((r) => [r.key?.toString(), r]))
    const avroDecoded = await codec.decodePrediction(byKey.get(avroEvent.prediction_id)!.value)
    expect(avroDecoded.format).toBe('avro')
    expect(avroDecoded.event).toEqual<PredictionEvent>(avroEvent)
    const jsonDecoded = await codec.decodePrediction(byKey.get(jsonEvent.prediction_id)!.value)
    expect(jsonDecoded).toEqual({ event: jsonEvent, format: 'json' })
    const bad = (await codec.decodePrediction(byKey.get('bad')!.value).catch((e: unknown) => e)) as DecodeError
    expect(bad).toBeInstanceOf(DecodeError)
    expect(bad.message).toMatch(/model_id: .*string/)
    expect(bad.message).toMatch(/model_version/)
  })

  it('offsets are committed after the batch is handled: a new consumer in the group starts after them', async () => {
    const { kafka, topics } = await freshTopics()
    const producer = await createProducer(kafka)
    await producer.send(
      topics.labels,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`{"n":${i}}`) })),
    )
    const groupId = `g-${uniqueId()}`
    const first: ConsumedRecord[] = []
    const c1 = createBatchConsumer(kafka, { groupId, topics: [topics.labels], handleBatch: async (r) => void first.push(...r) }, testLogger())
    await c1.start()
    await waitFor(() => first.length >= 20, { what: '20 records' })
    await c1.stop()

    await producer.send(topics.labels, [{ key: 'late', value: Buffer.from('{"n":20}') }])
    await producer.close()
    const second: ConsumedRecord[] = []
    const c2 = createBatchConsumer(kafka, { groupId, topics: [topics.labels], handleBatch: async (r) => void second.push(...r) }, testLogger())
    await c2.start()
    await waitFor(() => second.length >= 1, { what: 'the new record' })
    await c2.stop()
    expect(second.map((r) => r.key?.toString())).toEqual(['late'])
  })

  it('a batch that settles after a rebalance leaves the offset of a partition now read elsewhere to its new owner', async () => {
    const { kafka, topics } = await freshTopics(uniqueId(), 2)
    const producer = kafka.producer()
    await producer.connect()
    const send = (partition: number, n: number): Promise<unknown> =>
      producer.send({
        topic: topics.labels,
        messages: Array.from({ length: n }, (_, i) => ({ partition, key: `${partition}-${i}`, value: Buffer.from('{}') })),
      })
    await send(0, 10)
    await send(1, 10)
    const groupId = `g-${uniqueId()}`
    const committed = async (): Promise<Map<number, number>> => {
      const admin = kafka.admin()
      await admin.connect()
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topics.labels] })
      await admin.disconnect()
      return new Map(offsets!.partitions.map((p) => [p.partition, Number(p.offset)]))
    }
    // The first member's work stays unsettled (every commit of it waits) until released.
    const held = deferred()
    const first: ConsumedRecord[] = []
    const c1 = createBatchConsumer(
      kafka,
      { groupId, topics: [topics.labels], handleBatch: async (r) => (first.push(...r), { settled: held.promise }) },
      testLogger(),
    )
    await c1.start()
    await waitFor(() => first.length >= 20, { what: 'both partitions read by the first member' })
    const second: ConsumedRecord[] = []
    const c2 = createBatchConsumer(kafka, { groupId, topics: [topics.labels], handleBatch: async (r) => void second.push(...r) }, testLogger())
    await c2.start()
    const [moved] = await waitFor(() => (c2.assignment().length === 1 ? c2.assignment() : null), { what: 'a partition for the second member' })
    const kept = 1 - moved!.partition
    await send(moved!.partition, 5)
    await waitFor(async () => (await committed()).get(moved!.partition) === 15, { what: 'the new owner committing the whole partition' })

    held.resolve()
    await c1.stop()
    await c2.stop()
    await producer.disconnect()
    const end = await committed()
    expect(end.get(kept)).toBe(10)
    expect(end.get(moved!.partition)).toBe(15)
  })

  it.each([
    ['plain', false],
    ['isolating failures', true],
  ])('a handled batch is not kept alive by its unsettled work (%s handler)', async (_, isolating) => {
    // The monitor's work of a batch settles seconds after its records are handled; holding the
    // records (and kafkajs's fetched batches) until then made them survive into the old generation.
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const { kafka, topics } = await freshTopics(uniqueId(), 2)
    const producer = kafka.producer()
    await producer.connect()
    for (const partition of [0, 1])
      await producer.send({
        topic: topics.labels,
        messages: Array.from({ length: 300 }, (_, i) => ({ partition, key: `${partition}-${i}`, value: Buffer.alloc(1_000, i) })),
      })
    await producer.disconnect()
    const held = deferred()
    const handled: WeakRef<ConsumedRecord>[] = []
    const consumer = createBatchConsumer(
      kafka,
      {
        groupId: `g-${uniqueId()}`,
        topics: [topics.labels],
        maxBatchSize: 100,
        lingerMs: 20,
        handleBatch: async (records) => {
          for (const r of records) handled.push(new WeakRef(r))
          return { settled: held.promise }
        },
        ...(isolating ? { isolate: { mayBeRecords: async () => true, reject: async () => undefined } } : {}),
      },
      testLogger(),
    )
    await consumer.start()
    await waitFor(() => handled.length >= 600, { what: 'every record handled' })
    let alive = Infinity
    await waitFor(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 50))
        gc()
        alive = handled.filter((ref) => ref.deref() !== undefined).length
        return alive === 0
      },
      { what: 'the handled records collected', timeoutMs: 5_000 },
    ).catch(() => undefined)
    held.resolve()
    await consumer.stop()
    expect(alive).toBe(0)
  })

  it('work in flight when a rebalance begins is committed before the member rejoins: the new owner replays nothing', async () => {
    const { kafka, topics } = await freshTopics(uniqueId(), 2)
    const producer = kafka.producer()
    await producer.connect()
    const send = (partition: number, from: number, n: number): Promise<unknown> =>
      producer.send({
        topic: topics.labels,
        messages: Array.from({ length: n }, (_, i) => ({ partition, key: `${partition}-${from + i}`, value: Buffer.from('{}') })),
      })
    await send(0, 0, 10)
    await send(1, 0, 10)
    const groupId = `g-${uniqueId()}`
    // The first member's batch is handled while the second joins, and its work settles 1.5 s
    // after the member hears of the rebalance (the monitor then computes its windows at once):
    // committed only if the member waits for it before rejoining.
    const secondJoining = deferred()
    const rebalance = deferred()
    const first: ConsumedRecord[] = []
    const logger = testLogger()
    const c1 = createBatchConsumer(
      kafka,
      {
        groupId,
        topics: [topics.labels],
        handleBatch: async (r) => {
          first.push(...r)
          if (first.length >= 20) await secondJoining.promise.then(() => new Promise((resolve) => setTimeout(resolve, 4_000)))
          return { settled: rebalance.promise }
        },
        onRebalance: () => void setTimeout(() => rebalance.resolve(), 1_500),
      },
      logger,
    )
    await c1.start()
    await waitFor(() => first.length >= 20, { what: 'both partitions read by the first member' })
    const second: ConsumedRecord[] = []
    const c2 = createBatchConsumer(kafka, { groupId, topics: [topics.labels], handleBatch: async (r) => void second.push(...r) }, testLogger())
    const joined = c2.start()
    secondJoining.resolve()
    await joined
    const [moved] = await waitFor(() => (c2.assignment().length === 1 ? c2.assignment() : null), { what: 'a partition for the second member' })
    await send(moved!.partition, 10, 5)
    await waitFor(() => second.length >= 5, { what: 'the new records read by the new owner' })
    await c1.stop()
    await c2.stop()
    await producer.disconnect()
    // Only the records produced after the rebalance: the ten it had been handed were committed.
    expect(second.map((r) => r.key?.toString()).sort()).toEqual([10, 11, 12, 13, 14].map((i) => `${moved!.partition}-${i}`))
    expect(first).toHaveLength(20)
  })
})

/** A database with only the migrations before `first` applied, dropped once `body` is done. */
async function migratedBefore(first: string, body: (ch: ClickHouse) => Promise<void>): Promise<void> {
  const ch = new ClickHouse({ url: CLICKHOUSE_URL, database: `t_${uniqueId()}` })
  const earlier = mkdtempSync(join(tmpdir(), 'migrations-'))
  try {
    for (const file of readdirSync(DEFAULT_MIGRATIONS_DIR).filter((f) => /^\d{4}_.*\.sql$/.test(f) && f < first))
      copyFileSync(join(DEFAULT_MIGRATIONS_DIR, file), join(earlier, file))
    await migrate(ch, earlier)
    await body(ch)
  } finally {
    rmSync(earlier, { recursive: true, force: true })
    await ch.command(`DROP DATABASE IF EXISTS ${ch.database}`)
    await ch.close()
  }
}

/** Runs a table-rebuilding migration up to its RENAME, as a run interrupted there would have. */
async function interruptedAfterRename(ch: ClickHouse, name: string): Promise<void> {
  const rebuild = loadMigrations(DEFAULT_MIGRATIONS_DIR, ch.database).find((m) => m.name === name)!
  const renameAt = rebuild.statements.findIndex((s) => s.startsWith('RENAME TABLE'))
  expect(renameAt).toBeGreaterThan(0)
  for (const statement of rebuild.statements.slice(0, renameAt + 1)) await ch.command(statement)
}

describe('ClickHouse migrations and client', () => {
  it('talks to the engine its test project names (Debian 18.16 server or the current engine)', async () => {
    const { ch, drop } = await freshClickHouse()
    try {
      const [row] = await ch.query<{ v: string }>('SELECT version() AS v')
      expect(row!.v.startsWith(process.env.CLICKHOUSE_VERSION_PREFIX ?? ''), row!.v).toBe(true)
      expect(process.env.CLICKHOUSE_VERSION_PREFIX, 'the project names its engine').toBeTruthy()
    } finally {
      await drop()
    }
  })

  it('applies every migration once; a second run changes nothing; a row written is read back', async () => {
    const { ch, drop } = await freshClickHouse()
    try {
      const all = loadMigrations(DEFAULT_MIGRATIONS_DIR, ch.database).map((m) => m.name)
      const tablesBefore = await ch.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = ${lit(ch.database)} ORDER BY name`)
      const second = await migrate(ch)
      expect(second).toEqual({ applied: [], skipped: all })
      const tablesAfter = await ch.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = ${lit(ch.database)} ORDER BY name`)
      expect(tablesAfter).toEqual(tablesBefore)
      expect(tablesAfter.map((t) => t.name)).toEqual(expect.arrayContaining(['predictions', 'labels', 'window_summary', 'alerts', 'schema_migrations']))

      const row = {
        prediction_id: "p-'quoted'\\x",
        model_id: 'm',
        model_version: 'v1',
        event_time: 1_764_000_000_123,
        event_date: '2025-11-24',
        numeric_names: ['a', 'b'],
        numeric_values: [1.25, null],
        categorical_names: ['c'],
        categorical_values: ['x'],
        predicted_class: '1',
        score: 0.75,
        class_names: ['0', '1'],
        class_scores: [0.25, 0.75],
        predicted_value: null,
        segment_names: [],
        segment_values: [],
        kafka_partition: 3,
        kafka_offset: 42,
        kafka_timestamp: 1_764_000_000_200,
        ingested_at: 1_764_000_000_300,
      }
      await ch.insert('predictions', [row])
      const read = await ch.query<typeof row>(`SELECT * FROM ${ch.table('predictions')} WHERE prediction_id = ${lit(row.prediction_id)}`)
      expect(read).toEqual([row])
    } finally {
      await drop()
    }
  })

  it('rebuilds a predictions table of the first layout sorted by event time, keeping its rows, also after an interrupted run (and a column added but not recorded); prediction_keys gets the old rows and every new one', async () => {
    await migratedBefore('0140', async (ch) => {
      // Sorted by id, c < b < a; by event time, a < b < c.
      const stored = [storedPrediction('c', 1_764_000_300_000, 0), storedPrediction('b', 1_764_000_200_000, 1), storedPrediction('a', 1_764_000_100_000, 2)]
      await ch.insert('predictions', stored)
      const oldLayout = await ch.query<{ statement: string }>(`SHOW CREATE TABLE ${ch.table('predictions')}`)
      expect(Object.values(oldLayout[0]!)[0]).toMatch(/ORDER BY \(model_id, prediction_id, /)

      // Interrupted after the rename, before the old table was dropped: run again from the top.
      await interruptedAfterRename(ch, '0140_predictions_by_event_time')
      // Likewise a column added but not recorded (no ADD COLUMN IF NOT EXISTS on 18.16).
      const pending = loadMigrations(DEFAULT_MIGRATIONS_DIR, ch.database).find((m) => m.name === '0150_label_health_pending')!
      for (const statement of pending.statements) await ch.command(statement)
      const result = await migrate(ch)
      expect(result.applied).toEqual(expect.arrayContaining(['0140_predictions_by_event_time', '0141_prediction_keys', '0150_label_health_pending']))
      await ch.insert('label_health', [
        { model_id: 'm', window_size_ms: 1, window_start: 2, labels_received: 3, labels_joined: 1, labels_orphaned: 0, data_version: 4 },
      ])
      expect(await ch.query(`SELECT labels_received, labels_pending FROM ${ch.table('label_health')}`)).toEqual([{ labels_received: 3, labels_pending: 0 }])

      const layout = await ch.query<{ statement: string }>(`SHOW CREATE TABLE ${ch.table('predictions')}`)
      expect(Object.values(layout[0]!)[0]).toMatch(/ORDER BY \(model_id, event_time, prediction_id, kafka_partition, kafka_offset\)/)
      const tables = await ch.query<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = ${lit(ch.database)} AND name LIKE 'predictions%' ORDER BY name`,
      )
      expect(tables.map((t) => t.name)).toEqual(['predictions'])
      // Copied more than once by the interrupted run: FINAL collapses the copies to the rows stored.
      const rows = await ch.query<Record<string, unknown>>(`SELECT * FROM ${ch.table('predictions')} FINAL ORDER BY event_time`)
      expect(rows).toEqual([stored[2], stored[1], stored[0]])
      // Read in storage order: by event time.
      const order = await ch.query<{ prediction_id: string }>(`SELECT prediction_id FROM ${ch.table('predictions')} FINAL`)
      expect(order.map((r) => r.prediction_id)).toEqual(['a', 'b', 'c'])

      await ch.insert('predictions', [storedPrediction('d', 1_764_000_050_000, 3)])
      const keys = await ch.query<{ prediction_id: string; model_version: string; event_time: number; kafka_offset: number }>(
        `SELECT prediction_id, model_version, event_time, kafka_offset FROM ${ch.table('prediction_keys')} FINAL ORDER BY prediction_id`,
      )
      expect(keys).toEqual([
        { prediction_id: 'a', model_version: 'v1', event_time: 1_764_000_100_000, kafka_offset: 2 },
        { prediction_id: 'b', model_version: 'v1', event_time: 1_764_000_200_000, kafka_offset: 1 },
        { prediction_id: 'c', model_version: 'v1', event_time: 1_764_000_300_000, kafka_offset: 0 },
        { prediction_id: 'd', model_version: 'v1', event_time: 1_764_000_050_000, kafka_offset: 3 },
      ])
    })
  })

  it('rebuilds prediction_keys with an index entry every 256 rows, keeping its keys, also after an interrupted run; new predictions still get theirs', async () => {
    await migratedBefore('0220', async (ch) => {
      const stored = [storedPrediction('c', 1_764_000_300_000, 0), storedPrediction('b', 1_764_000_200_000, 1), storedPrediction('a', 1_764_000_100_000, 2)]
      await ch.insert('predictions', stored)
      const create = async (): Promise<string> => String(Object.values((await ch.query(`SHOW CREATE TABLE ${ch.table('prediction_keys')}`))[0]!)[0])
      expect(await create()).toMatch(/index_granularity = 8192/)

      // Interrupted after the rename, before the feed was created again: run again from the top.
      await interruptedAfterRename(ch, '0220_prediction_keys_fine_index')
      expect((await migrate(ch)).applied).toContain('0220_prediction_keys_fine_index')

      expect(await create()).toMatch(/index_granularity = 256/)
      const tables = await ch.query<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = ${lit(ch.database)} AND name LIKE 'prediction_keys%' ORDER BY name`,
      )
      expect(tables.map((t) => t.name)).toEqual(['prediction_keys', 'prediction_keys_feed'])
      await ch.insert('predictions', [storedPrediction('d', 1_764_000_050_000, 3)])
      const keys = await ch.query<{ prediction_id: string; event_time: number; kafka_offset: number }>(
        `SELECT prediction_id, event_time, kafka_offset FROM ${ch.table('prediction_keys')} FINAL ORDER BY prediction_id`,
      )
      expect(keys).toEqual([
        { prediction_id: 'a', event_time: 1_764_000_100_000, kafka_offset: 2 },
        { prediction_id: 'b', event_time: 1_764_000_200_000, kafka_offset: 1 },
        { prediction_id: 'c', event_time: 1_764_000_300_000, kafka_offset: 0 },
        { prediction_id: 'd', event_time: 1_764_000_050_000, kafka_offset: 3 },
      ])
    })
  })

  it('rebuilds window_requests with close_check in its key, keeping its requests, also after an interrupted run', async () => {
    await migratedBefore('0340', async (ch) => {
      const requests = [
        { model_id: 'm', window_size_ms: 3_600_000, window_start: 0, requested_at: 100, urgent: 1 },
        { model_id: 'm', window_size_ms: 3_600_000, window_start: 3_600_000, requested_at: 101, urgent: 0 },
      ]
      await ch.insert('window_requests', requests)

      // Interrupted after the rename, before the old table was dropped: run again from the top.
      await interruptedAfterRename(ch, '0340_window_requests_close_check')
      expect((await migrate(ch)).applied).toContain('0340_window_requests_close_check')

      const create = String(Object.values((await ch.query(`SHOW CREATE TABLE ${ch.table('window_requests')}`))[0]!)[0])
      expect(create).toMatch(/ORDER BY \(model_id, window_size_ms, window_start, close_check\)/)
      const tables = await ch.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = ${lit(ch.database)} AND name LIKE 'window_requests%'`)
      expect(tables.map((t) => t.name)).toEqual(['window_requests'])
      const rows = await ch.query(`SELECT * FROM ${ch.table('window_requests')} FINAL ORDER BY window_start`)
      expect(rows).toEqual(requests.map((r) => ({ ...r, close_check: 0 })))
    })
  })

  it('refuses a migration whose file changed after it was applied', async () => {
    const { ch, drop } = await freshClickHouse()
    try {
      await ch.command(`ALTER TABLE ${ch.table('schema_migrations')} UPDATE checksum = 'x' WHERE name = '0100_raw_events'`).catch(async () => {
        // 18.16 has ALTER UPDATE as a mutation; a second row with another checksum works everywhere.
        await ch.command(`TRUNCATE TABLE ${ch.table('schema_migrations')}`)
      })
      await ch.insert('schema_migrations', [{ name: '0100_raw_events', checksum: 'not-the-file', applied_at: '2026-01-01 00:00:00' }])
      await ch.command(`OPTIMIZE TABLE ${ch.table('schema_migrations')} FINAL`)
      const error = await migrate(ch).catch((e: unknown) => e)
      expect(String(error)).toMatch(/0100_raw_events was changed after it was applied/)
    } finally {
      await drop()
    }
  })
})
