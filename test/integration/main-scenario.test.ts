import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { runScenario } from '../../scenario/run-scenario.ts'
import { phaseAt, scenarioPhases, SCENARIO_MODEL } from '../../scenario/scenario.ts'
import { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { EventCodec } from '../../services/shared/codec/event-codec.ts'
import { loadEnv } from '../../services/shared/config/env.ts'
import { createKafka } from '../../services/shared/kafka/kafka-client.ts'
import { readTopic } from '../../services/shared/kafka/read-topic.ts'
import { topicNames } from '../../services/shared/kafka/topics.ts'
import { decisionHistory } from '../support/decision-history.ts'
import { startTcpProxy } from '../support/tcp-proxy.ts'
import { CLICKHOUSE_URL, KAFKA_BROKERS, testLogger, uniqueId } from '../support/harness.ts'

// The main job end to end, shortened (28 simulated days, fewer predictions) and in a database and
// topics of its own: the monitor and the policy service run on the real Kafka, ClickHouse and
// Alertmanager, and the outcomes are read back from ClickHouse and the retrain-requests topic
// with queries of the test's own, not with the job's report. ClickHouse stops answering the first
// run for a minute; a second run with the player a week ahead on a loaded machine must store the
// same decisions.

const DAYS = 28
const OUTAGE_MS = 60_000
const SIZE = 6 * 3_600_000
const runEnv = (id: string, clickhouseUrl = CLICKHOUSE_URL) =>
  loadEnv({
    ...process.env,
    CLICKHOUSE_URL: clickhouseUrl,
    TOPIC_PREFIX: `t-${id}-`,
    CLICKHOUSE_DATABASE: `t_${id}`,
    MONITOR_GROUP_ID: `t-${id}-monitor`,
    LOG_LEVEL: 'warn',
  })
const id = uniqueId()
const env = runEnv(id)
const ch = new ClickHouse({ url: CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE })
// A second run of the same events, with the player a week ahead and the machine loaded.
const againId = uniqueId()
const again = new ClickHouse({ url: CLICKHOUSE_URL, database: runEnv(againId).CLICKHOUSE_DATABASE })
const phases = scenarioPhases(DAYS)
/** Events per simulated day in the first run (the second run's player lead is a week of them). */
let eventsPerDay = 0
const play = (runId: string, extra: { maxLag?: number; clickhouseUrl?: string } = {}, out: NodeJS.WritableStream = new PassThrough()) =>
  runScenario({
    env: runEnv(runId, extra.clickhouseUrl),
    days: DAYS,
    speed: 0,
    peakPerHour: 160,
    seed: 3,
    quiet: true,
    outDir: mkdtempSync(join(tmpdir(), 'driftgate-main-')),
    policyGroupId: `t-${runId}-policy`,
    out,
    maxLag: extra.maxLag,
  })

afterAll(async () => {
  for (const c of [ch, again]) {
    await c.command(`DROP DATABASE IF EXISTS ${c.database}`)
    await c.close()
  }
})

interface Decision {
  episode_id: string
  change_point: number
  decision: string
  deciding_gate: string
  deciding_code: string
  known_event: string
  request_id: string
}

/** The latest state of every decision, with its episode's change point and the calendar gate's verdict. */
async function decisions(): Promise<Decision[]> {
  const rows = await ch.query<Decision & { reason_gates: string[]; reason_verdicts: string[] }>(
    `SELECT d.episode_id AS episode_id, e.change_point AS change_point, decision, deciding_gate, deciding_code, reason_gates, reason_verdicts, d.request_id AS request_id
     FROM (SELECT * FROM ${ch.table('policy_decisions')} FINAL WHERE model_id = ${lit(SCENARIO_MODEL)}) AS d
     ANY LEFT JOIN (SELECT episode_id, change_point FROM ${ch.table('policy_episodes')} FINAL WHERE model_id = ${lit(SCENARIO_MODEL)}) AS e USING episode_id`,
  )
  return rows.map((r) => ({ ...r, change_point: Number(r.change_point), known_event: r.reason_verdicts[r.reason_gates.indexOf('known_event')] ?? '' }))
}

/** Episodes made of alerts on the cold-start segment only. */
async function coldStartEpisodes(): Promise<Set<string>> {
  const rows = await ch.query<{ episode_id: string; alerts_json: string }>(
    `SELECT episode_id, alerts_json FROM ${ch.table('policy_episodes')} FINAL WHERE model_id = ${lit(SCENARIO_MODEL)}`,
  )
  return new Set(
    rows
      .filter((r) => Object.values(JSON.parse(r.alerts_json) as Record<string, { segment: string }>).every((a) => a.segment === 'new_entity=true'))
      .map((r) => r.episode_id),
  )
}

const inPhase = (t: number, name: Parameters<typeof phaseAt>[1]): boolean => t >= phaseAt(phases, name).from - SIZE && t < phaseAt(phases, name).to

describe('the main job (npm start), shortened', () => {
  it('the upstream break leads to investigate, Black Friday to hold, the concept drift to exactly one retrain request, the cold-start segment to a segment hold', async () => {
    const out = new PassThrough()
    let printed = ''
    out.on('data', (chunk: Buffer) => (printed += chunk.toString()))
    const started = Date.now()
    // ClickHouse stops answering the job for a minute midway while the player goes on.
    const target = new URL(CLICKHOUSE_URL)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
    let paused = false
    const outage = setTimeout(() => {
      proxy.pause()
      paused = true
      setTimeout(() => proxy.resume(), OUTAGE_MS).unref()
    }, 30_000)
    let result: Awaited<ReturnType<typeof play>>
    try {
      result = await play(id, { clickhouseUrl: proxy.url }, out)
    } finally {
      clearTimeout(outage)
      proxy.resume()
      await proxy.close()
    }
    expect(paused).toBe(true)
    const took = Date.now() - started
    const report = `\n${printed}`

    // The job's own verdict, then the same outcomes read back independently.
    expect(result.ok, report).toBe(true)
    const all = await decisions()
    const cold = await coldStartEpisodes()

    // Upstream break: a data-quality alert together with drift, the root-cause gate answers investigate.
    const alerts = await ch.query<{ kind: string; first_seen: number }>(
      `SELECT kind, first_seen FROM ${ch.table('alerts')} FINAL WHERE model_id = ${lit(SCENARIO_MODEL)}`,
    )
    const broken = alerts.filter((a) => inPhase(Number(a.first_seen), 'upstream_break'))
    expect(
      broken.map((a) => a.kind),
      report,
    ).toEqual(expect.arrayContaining(['data_quality', 'drift']))
    const upstream = all.filter((d) => inPhase(d.change_point, 'upstream_break') && !cold.has(d.episode_id))
    expect(upstream.length, report).toBeGreaterThan(0)
    expect(new Set(upstream.map((d) => `${d.decision}/${d.deciding_gate}`)), report).toEqual(new Set(['investigate/root_cause']))

    // Black Friday: every decision holds, the calendar gate holds each one and decides at least one.
    const blackFriday = all.filter((d) => inPhase(d.change_point, 'black_friday') && !cold.has(d.episode_id))
    expect(blackFriday.length, report).toBeGreaterThan(0)
    expect(
      blackFriday.every((d) => d.decision === 'hold' && d.known_event === 'hold'),
      report,
    ).toBe(true)
    expect(
      blackFriday.some((d) => d.deciding_gate === 'known_event'),
      report,
    ).toBe(true)

    // Cold start: held by the segment gate, never retrained.
    const coldStart = all.filter((d) => cold.has(d.episode_id))
    expect(
      coldStart.some((d) => d.decision === 'hold' && d.deciding_gate === 'segment'),
      report,
    ).toBe(true)
    expect(
      coldStart.filter((d) => d.decision === 'retrain'),
      report,
    ).toEqual([])

    // Concept drift: exactly one request, in ClickHouse and on the topic, for the concept-drift episode.
    const requests = await ch.query<{ request_id: string; episode_id: string; training_data_from: number; status: string }>(
      `SELECT request_id, episode_id, training_data_from, status FROM ${ch.table('retrain_requests')} FINAL WHERE model_id = ${lit(SCENARIO_MODEL)}`,
    )
    expect(requests, report).toHaveLength(1)
    expect(requests[0]!.status).toBe('produced')
    expect(inPhase(Number(requests[0]!.training_data_from), 'concept_drift'), report).toBe(true)
    const kafka = createKafka({ brokers: KAFKA_BROKERS, clientId: `test-${id}` }, testLogger('kafka'))
    const messages = await readTopic(kafka, topicNames(env.TOPIC_PREFIX).retrainRequests, { toEnd: true, timeoutMs: 5_000 })
    expect(messages).toHaveLength(1)
    const sent = (await EventCodec.forRegistry(env.SCHEMA_REGISTRY_URL).decode(messages[0]!.value, 'RetrainRequest')).event
    expect(sent.request_id).toBe(requests[0]!.request_id)
    const retrained = all.filter((d) => d.decision === 'retrain')
    expect(retrained.map((d) => d.episode_id)).toEqual([sent.episode_id])
    expect(inPhase(retrained[0]!.change_point, 'concept_drift'), report).toBe(true)

    // One stored decision per change of answer: the same answer again is counted on it.
    const history = await ch.query<{ episode_id: string; answer: string; repeats: number }>(
      `SELECT episode_id, concat(decision, '/', deciding_gate, '/', deciding_code) AS answer, repeats
       FROM ${ch.table('policy_decisions')} FINAL WHERE model_id = ${lit(SCENARIO_MODEL)} ORDER BY episode_id, decided_at`,
    )
    const repeatedAnswers = history.filter((d, i) => i > 0 && history[i - 1]!.episode_id === d.episode_id && history[i - 1]!.answer === d.answer)
    expect(repeatedAnswers, report).toEqual([])
    console.log(`main job: ${history.length} stored decisions for ${history.reduce((n, d) => n + Number(d.repeats), 0)} answers`)

    eventsPerDay = (result.stats.predictions + result.stats.labels) / DAYS
    console.log(`main job, ${DAYS} days: ${result.stats.predictions} predictions and ${result.stats.labels} labels in ${Math.round(took / 1000)} s`)
  }, 600_000)

  it('the player a week ahead of the monitor and a busy CPU change no decision (nor does the outage of the first run)', async () => {
    const first = await decisionHistory(ch, SCENARIO_MODEL)
    expect(first.requests).toHaveLength(1)
    expect(eventsPerDay).toBeGreaterThan(0)
    const burner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
    let result: Awaited<ReturnType<typeof play>>
    try {
      // A week of events: the player waits only when the monitor is that far behind.
      result = await play(againId, { maxLag: Math.round(7 * eventsPerDay) })
    } finally {
      burner.kill()
    }
    expect(result.checks.filter((c) => !c.ok)).toEqual([])
    // Same events, same decisions: every stored decision (step, episode, answer, reason, trigger)
    // and the request, with its training data, are equal.
    const second = await decisionHistory(again, SCENARIO_MODEL)
    expect(second.decisions.length).toBeGreaterThan(0)
    expect(second).toEqual(first)
    const digest = createHash('sha256').update(JSON.stringify(first)).digest('hex').slice(0, 16)
    console.log(`main job: ${first.decisions.length} decisions and ${first.requests.length} request, equal in both runs (history sha256 ${digest})`)
    expect(first.requests.map((r) => inPhase(r.training_data_from, 'concept_drift'))).toEqual([true])
  }, 600_000)
})
