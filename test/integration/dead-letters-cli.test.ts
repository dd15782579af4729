import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listDeadLetters, modelIdReader, type DeadLetterOptions } from '../../services/cli/dead-letters.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { sendDeadLetters, type DeadLetter } from '../../services/shared/kafka/dead-letter.ts'
import { createProducer, type RecordProducer } from '../../services/shared/kafka/producer.ts'
import { readTopic, scanTopic } from '../../services/shared/kafka/read-topic.ts'
import type { ConsumedRecord } from '../../services/shared/kafka/records.ts'
import type { TopicNames } from '../../services/shared/kafka/topics.ts'
import { sampleLabel, samplePrediction } from '../support/events.ts'
import { freshTopics, KAFKA_BROKERS, uniqueId } from '../support/harness.ts'
import { startRegistryDouble, type RegistryDouble } from '../support/schema-registry-double.ts'

// `driftgate dead-letters` against the real local Kafka: dead letters written by the shared
// dead-letter sender (as the monitor writes them) to fresh topics, read back by the command's
// reader and by the command itself, with its filters; and the topic reader it is built on stops
// at the end of the topic instead of waiting out its time budget.

const run = promisify(execFile)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
/** Far above what any read here needs: a read that returns before it found the end by itself. */
const BUDGET_MS = 90_000

let registry: RegistryDouble
let kafka: Kafka
let topics: TopicNames
let prefix: string
let producer: RecordProducer
let codec: EventCodec
/** Between the two batches of dead letters. */
let cut: number
let avroValue: Buffer

const original = (topic: string, partition: number, offset: number, value: Buffer | string, key: string | null = `k-${offset}`): ConsumedRecord => ({
  topic,
  partition,
  offset: String(offset),
  key: key === null ? null : Buffer.from(key),
  value: Buffer.isBuffer(value) ? value : Buffer.from(value),
  timestamp: Date.now() - 60_000,
  headers: {},
})

/** What each dead letter should come back as, oldest first. */
interface Expected {
  source: string
  code: string
  step: string
  model: string | null
}
let expected: Expected[]

beforeAll(async () => {
  registry = await startRegistryDouble()
  codec = EventCodec.forRegistry(registry.url)
  ;({ kafka, topics, prefix } = await freshTopics(uniqueId()))
  producer = await createProducer(kafka)
  avroValue = await codec.encode(topics.predictions, 'PredictionEvent', samplePrediction({ prediction_id: 'avro-1', model_id: 'avro-model' }))
  const first: DeadLetter[] = [
    {
      record: original(topics.predictions, 2, 17, JSON.stringify(samplePrediction({ model_id: 'ghost-model' }))),
      code: 'unknown_model',
      step: 'validate',
      reason: "model_id 'ghost-model' is not configured in driftgate",
    },
    {
      record: original(topics.predictions, 4, 3, avroValue),
      code: 'unknown_class',
      step: 'validate',
      reason: "prediction.predicted_class '1' is not one of the model's classes (yes, no)",
    },
    {
      record: original(topics.predictions, 0, 99, '{"prediction_id":"p-9","model_id":"broken-model","event_time": '),
      code: 'malformed_json',
      step: 'decode',
      reason: 'not valid JSON: Unexpected end of JSON input',
    },
    {
      record: original(topics.labels, 1, 5, Buffer.from([0x01, 0x02, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x0a]), null),
      code: 'unknown_framing',
      step: 'decode',
      reason: "first byte 0x01 is neither the Confluent magic byte 0x00 nor '{' (JSON)",
    },
    {
      record: original(topics.labels, 3, 40, JSON.stringify(sampleLabel({ model_id: 'ghost-model' }))),
      code: 'unknown_model',
      step: 'validate',
      reason: "model_id 'ghost-model' is not configured in driftgate",
    },
  ]
  await sendDeadLetters(producer, topics.deadLetter, first)
  await sleep(1_500)
  cut = Date.now()
  await sleep(20)
  const second: DeadLetter[] = [
    {
      record: original(topics.predictions, 5, 1000, JSON.stringify(samplePrediction({ model_id: 'late-model' }))),
      code: 'unknown_model',
      step: 'validate',
      reason: "model_id 'late-model' is not configured in driftgate",
    },
    {
      record: original(topics.labels, 5, 1001, JSON.stringify(sampleLabel({ model_id: 'late-model', label_class: 'maybe' }))),
      code: 'unknown_class',
      step: 'validate',
      reason: "label_class 'maybe' is not one of the model's classes (0, 1)",
    },
  ]
  await sendDeadLetters(producer, topics.deadLetter, second)
  expected = [
    { source: `${topics.predictions}/2/17`, code: 'unknown_model', step: 'validate', model: 'ghost-model' },
    { source: `${topics.predictions}/4/3`, code: 'unknown_class', step: 'validate', model: 'avro-model' },
    { source: `${topics.predictions}/0/99`, code: 'malformed_json', step: 'decode', model: 'broken-model' },
    { source: `${topics.labels}/1/5`, code: 'unknown_framing', step: 'decode', model: null },
    { source: `${topics.labels}/3/40`, code: 'unknown_model', step: 'validate', model: 'ghost-model' },
    { source: `${topics.predictions}/5/1000`, code: 'unknown_model', step: 'validate', model: 'late-model' },
    { source: `${topics.labels}/5/1001`, code: 'unknown_class', step: 'validate', model: 'late-model' },
  ]
})

afterAll(async () => {
  await producer?.close()
  await registry?.close()
})

const list = (o: Partial<DeadLetterOptions> = {}) =>
  listDeadLetters(kafka, topics.deadLetter, { limit: 50, timeoutMs: BUDGET_MS, ...o }, modelIdReader(codec, topics.labels))

const summary = (rows: Awaited<ReturnType<typeof list>>['rows']): Expected[] =>
  rows.map((r) => ({ source: `${r.sourceTopic}/${r.sourcePartition}/${r.sourceOffset}`, code: r.code, step: r.step, model: r.modelId }))

/** The command's table (header, dashes, rows, note) as one object per row, cut at the column widths the dashes give. */
function parseTable(text: string): { rows: Record<string, string>[]; note: string } {
  const lines = text.trimEnd().split('\n')
  const widths = lines[1]!.split('  ').map((d) => d.length)
  const cells = (line: string): string[] => {
    let at = 0
    return widths.map((w) => {
      const cell = line.slice(at, at + w).trim()
      at += w + 2
      return cell
    })
  }
  const columns = cells(lines[0]!)
  return { rows: lines.slice(2, -1).map((l) => Object.fromEntries(cells(l).map((c, i) => [columns[i]!, c]))), note: lines.at(-1)! }
}

async function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/driftgate.js', 'dead-letters', ...args], {
    env: { ...process.env, TOPIC_PREFIX: prefix, KAFKA_BROKERS: KAFKA_BROKERS.join(','), SCHEMA_REGISTRY_URL: registry.url },
    timeout: 120_000,
  })
}

describe('driftgate dead-letters (real Kafka)', () => {
  it('lists every dead letter, oldest first, with its origin, code, step, reason and model_id (JSON, broken JSON, Avro through the registry); stops at the end of the topic by itself', async () => {
    const started = Date.now()
    const all = await list()
    expect(Date.now() - started).toBeLessThan(BUDGET_MS / 2)
    expect(all.complete).toBe(true)
    expect(all.read).toBe(7)
    expect(all.matched).toBe(7)
    expect(summary(all.rows)).toEqual(expected)
    expect(all.rows[0]!.reason).toBe("model_id 'ghost-model' is not configured in driftgate")
    expect(all.rows[1]!.value).toEqual(avroValue)
    expect(all.rows.every((r, i) => i === 0 || r.failedAt >= all.rows[i - 1]!.failedAt)).toBe(true)
    expect(all.rows.slice(0, 5).every((r) => r.failedAt < cut)).toBe(true)
    expect(all.rows.slice(5).every((r) => r.failedAt >= cut)).toBe(true)
  })

  it('filters by model, code, time and count', async () => {
    expect(summary((await list({ model: 'ghost-model' })).rows)).toEqual([expected[0], expected[4]])
    expect(summary((await list({ code: 'unknown_model' })).rows)).toEqual([expected[0], expected[4], expected[5]])
    expect(summary((await list({ model: 'ghost-model', code: 'unknown_model', limit: 1 })).rows)).toEqual([expected[4]])
    const newest = await list({ limit: 3 })
    expect(summary(newest.rows)).toEqual(expected.slice(-3))
    expect(newest.matched).toBe(7)
    // --since starts the read at that time: the older records are not even read.
    const recent = await list({ since: cut })
    expect(summary(recent.rows)).toEqual(expected.slice(5))
    expect(recent.read).toBe(2)
    expect(recent.complete).toBe(true)
    const none = await list({ since: Date.now() + 3_600_000 })
    expect(none).toEqual({ rows: [], matched: 0, read: 0, complete: true })
  })

  it('the command prints the table (escaped values) and JSON, from the topic named by TOPIC_PREFIX', async () => {
    const { stdout, stderr } = await cli('--code', 'unknown_model')
    expect(stderr).toBe('')
    const table = parseTable(stdout)
    expect(table.note).toBe(`3 matching dead letters, 7 read from ${topics.deadLetter}`)
    expect(table.rows.map((r) => [r.source, r.code, r.step, r.model_id])).toEqual(
      [0, 4, 5].map((i) => [expected[i]!.source, expected[i]!.code, expected[i]!.step, expected[i]!.model]),
    )
    expect(table.rows.map((r) => r.reason)).toEqual([
      "model_id 'ghost-model' is not configured in driftgate",
      "model_id 'ghost-model' is not configured in driftgate",
      "model_id 'late-model' is not configured in driftgate",
    ])
    expect(table.rows[0]!.value).toBe(`${JSON.stringify(samplePrediction({ model_id: 'ghost-model' })).slice(0, 40)}…`)
    expect(table.rows.every((r) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(r.time!))).toBe(true)

    const framing = parseTable((await cli('--code', 'unknown_framing')).stdout)
    expect(framing.rows.map((r) => r.value)).toEqual(['\\x01\\x02\\x1b[31m\\n'])

    const json = JSON.parse((await cli('--json', '--model', 'avro-model')).stdout) as {
      source_offset: string
      code: string
      model_id: string
      value_base64: string
      key: string
    }[]
    expect(json).toHaveLength(1)
    expect(json[0]).toMatchObject({ source_offset: '3', code: 'unknown_class', model_id: 'avro-model', key: 'k-3' })
    expect(Buffer.from(json[0]!.value_base64, 'base64')).toEqual(avroValue)
  })

  it('the topic reader stops at the end offsets it found at the start, empty partitions and empty topics included', async () => {
    // Triggers has 3 partitions: two records under one key leave the other two empty.
    await producer.send(topics.triggers, [
      { key: 'model-a', value: Buffer.from('one') },
      { key: 'model-a', value: Buffer.from('two') },
    ])
    let started = Date.now()
    const triggers = await readTopic(kafka, topics.triggers, { toEnd: true, timeoutMs: BUDGET_MS })
    expect(Date.now() - started).toBeLessThan(BUDGET_MS / 2)
    expect(triggers.map((r) => r.value?.toString())).toEqual(['one', 'two'])
    started = Date.now()
    expect(await scanTopic(kafka, topics.retrainRequests, { toEnd: true, timeoutMs: BUDGET_MS })).toEqual({ records: [], read: 0, reachedEnd: true })
    expect(Date.now() - started).toBeLessThan(5_000)
    // Without toEnd a read still waits for the count it was asked for.
    const waiting = scanTopic(kafka, topics.triggers, { count: 3, timeoutMs: BUDGET_MS })
    await sleep(3_000)
    await producer.send(topics.triggers, [{ key: 'model-a', value: Buffer.from('three') }])
    expect((await waiting).records.map((r) => r.value?.toString())).toEqual(['one', 'two', 'three'])
  })
})
