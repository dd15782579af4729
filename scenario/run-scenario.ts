import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { ClickHouse } from '../services/shared/clickhouse/client.ts'
import { migrate } from '../services/shared/clickhouse/migrate.ts'
import { EventCodec } from '../services/shared/codec/event-codec.ts'
import type { Env } from '../services/shared/config/env.ts'
import { loadDriftgateConfig } from '../services/shared/config/model-config.ts'
import { createKafka } from '../services/shared/kafka/kafka-client.ts'
import { createProducer } from '../services/shared/kafka/producer.ts'
import { ensureTopics, topicNames, topicSpecs } from '../services/shared/kafka/topics.ts'
import { createEventProducer } from '../services/shared/producer/event-producer.ts'
import { createAlertDelivery } from '../services/monitor/run/alerting/index.ts'
import { createMonitorService } from '../services/monitor/run/monitor-service.ts'
import { monitorSettings } from '../services/monitor/run/monitor-settings.ts'
import { loadRuntimeModels } from '../services/monitor/run/runtime-models.ts'
import { decisionStep, loadPolicies } from '../services/policy/core/policy-config.ts'
import { createPolicyService } from '../services/policy/run/policy-service.ts'
import { LagProbe, LiveFeed, SimulatedClock, simTime, Terminal } from './live-feed.ts'
import { checkOutcomes, type CheckContext, type OutcomeCheck, type RunRecords } from './outcome-checks.ts'
import type { ScenarioShape } from './options.ts'
import { formatSummary, loadRunRecords, type RunStats } from './run-report.ts'
import { DAY, generateScenario, SCENARIO_MODEL } from './scenario.ts'
import { playScenario } from './scenario-player.ts'
import { endOffsets, resetModelData, skipToEnd, writeScenarioConfig } from './scenario-setup.ts'

export interface ScenarioRunOptions extends ScenarioShape {
  /** Connections, database, topic prefix and group ids (loadEnv()). */
  env: Env
  /** The example config the effective one is written from. */
  templatePath?: string
  /** Where the effective config, reference profile and log go. */
  outDir?: string
  out?: NodeJS.WritableStream & { isTTY?: boolean }
  signal?: AbortSignal
  /** Records the monitor may trail behind the player before the player waits for it. */
  maxLag?: number
  policyGroupId?: string
}

export interface ScenarioRunResult {
  ok: boolean
  interrupted: boolean
  checks: OutcomeCheck[]
  records: RunRecords
  stats: RunStats
  configPath: string
  logPath: string
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The main job: plays the credit-default scenario through the real monitor and policy service
 * (in this process, on the local Kafka, ClickHouse and Alertmanager) and checks that each phase
 * led to the answer it should.
 */
export async function runScenario(o: ScenarioRunOptions): Promise<ScenarioRunResult> {
  const started = Date.now()
  const { env } = o
  const outDir = o.outDir ?? '.local/scenario'
  mkdirSync(outDir, { recursive: true })
  const logPath = join(outDir, 'main.log')
  // Service logs go to a file: the terminal is for the scenario's story.
  const logDest = pino.destination({ dest: logPath, sync: false })
  const logger = pino({ name: 'main', level: env.LOG_LEVEL }, logDest)
  const term = new Terminal(o.out ?? process.stdout, o.quiet)
  const say = (text: string): void => term.line(text)

  const scenario = generateScenario({ seed: o.seed, peakPerHour: o.peakPerHour, days: o.days })
  const template = loadDriftgateConfig(o.templatePath ?? 'config/driftgate.yaml')
  const modelConfig = template.models.find((m) => m.model_id === SCENARIO_MODEL)
  if (!modelConfig) throw new Error(`${o.templatePath ?? 'config/driftgate.yaml'} does not configure ${SCENARIO_MODEL}`)
  const files = writeScenarioConfig(o.templatePath ?? 'config/driftgate.yaml', outDir, modelConfig, scenario, o.seed)
  const config = loadDriftgateConfig(files.configPath)
  const models = loadRuntimeModels(config)
  const policies = loadPolicies(config)
  const windowSizeMs = Math.min(...models.get(SCENARIO_MODEL)!.config.windows)
  const context: CheckContext = { phases: scenario.phases, windowSizeMs, coldStart: policies.get(SCENARIO_MODEL)!.segments.cold_start }
  const predictions = scenario.events.filter((e) => e.prediction).length
  say(
    `driftgate main job: ${SCENARIO_MODEL}, ${o.days} simulated days from ${simTime(scenario.start).slice(0, 10)}, ${predictions.toLocaleString('en')} predictions and ${(scenario.events.length - predictions).toLocaleString('en')} labels (seed ${o.seed})`,
  )
  say(
    `  config ${files.configPath}, reference profile ${files.referencePath} (${scenario.baseline.predictions.length.toLocaleString('en')} training-week predictions), service log ${logPath}`,
  )

  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'driftgate-main' }, logger)
  const ch = new ClickHouse({
    url: env.CLICKHOUSE_URL,
    database: env.CLICKHOUSE_DATABASE,
    username: env.CLICKHOUSE_USER,
    password: env.CLICKHOUSE_PASSWORD,
    requestTimeoutMs: 120_000,
  })
  const topics = topicNames(env.TOPIC_PREFIX)
  const policyGroup = o.policyGroupId ?? env.POLICY_GROUP_ID
  const closers: (() => Promise<unknown>)[] = [() => ch.close()]
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((error: unknown) => logger.warn({ event: 'close_failed', err: error }, 'close failed'))
    closers.length = 0
  }
  try {
    // up.sh created the topics and tables already; doing it again is cheap and lets a run use
    // its own TOPIC_PREFIX and CLICKHOUSE_DATABASE.
    await migrate(ch)
    await ensureTopics(kafka, topicSpecs(topics, env.EVENT_PARTITIONS))
    if (!o.keep) {
      const tables = await resetModelData(ch, SCENARIO_MODEL, [env.MONITOR_GROUP_ID])
      say(`  reset: deleted ${SCENARIO_MODEL} from ${tables.length} tables of ClickHouse database ${ch.database}`)
    }
    await skipToEnd(kafka, env.MONITOR_GROUP_ID, [topics.predictions, topics.labels])
    await skipToEnd(kafka, policyGroup, [topics.triggers])
    const requestsFrom = await endOffsets(kafka, topics.retrainRequests)

    const registry = new Registry()
    const codec = EventCodec.forRegistry(env.SCHEMA_REGISTRY_URL)
    const producer = await createProducer(kafka)
    closers.push(() => producer.close())
    const alertmanagerUrl = env.ALERTMANAGER_URL ?? `http://127.0.0.1:${process.env.ALERTMANAGER_PORT ?? 9093}`
    const alerts = createAlertDelivery({ alertmanagerUrl, webhookUrl: env.ALERT_WEBHOOK_URL, webhookToken: env.ALERT_WEBHOOK_TOKEN, logger, registry })
    closers.push(() => alerts.close())
    const monitor = createMonitorService({
      kafka,
      ch,
      codec,
      producer,
      topics,
      models,
      logger,
      registry,
      alerts,
      // Simulated days pass in seconds: refresh join health more often than the default 30 s.
      // Windows are computed in steps of the policy's decision interval, so the same events
      // give the same alerts and decisions however far the player runs ahead.
      settings: { ...monitorSettings(env), labelHealthIntervalMs: 20_000, stepMs: env.MONITOR_STEP_MS || decisionStep(policies) },
    })
    // The player's simulated time, for the feed. The policy does not use it: it decides in steps of
    // data time once the monitor has finished them, so the player's lead changes nothing.
    const clock = new SimulatedClock(scenario.start)
    const policy = createPolicyService({ kafka, ch, codec, producer, topics, policies, logger, groupId: policyGroup, monitorGroupId: env.MONITOR_GROUP_ID })
    await monitor.start()
    closers.push(() => monitor.stop())
    await policy.start()
    closers.push(() => policy.stop())
    say(
      `  monitor (group ${env.MONITOR_GROUP_ID}, alerts to ${alerts.receivers.join(' and ') || 'no receiver'} at ${alertmanagerUrl}) and policy service (group ${policyGroup}) started; playing at ${o.speed > 0 ? `${o.speed} simulated hours per second` : 'full speed'}`,
    )
    say('')

    const probe = new LagProbe(kafka)
    closers.push(() => probe.close())
    const monitorLag = (): Promise<number | null> => probe.lag(env.MONITOR_GROUP_ID, [topics.predictions, topics.labels])
    const feed = new LiveFeed(ch, SCENARIO_MODEL, say, (wall) => clock.at(wall))
    const produced = { predictions: 0, labels: 0 }
    let lag: number | null = null
    let policyLag: number | null = null
    const status = (): void =>
      term.status(
        `  sim ${simTime(clock.now)}  day ${Math.min(o.days, Math.floor((clock.now - scenario.start) / DAY) + 1)}/${o.days}  produced ${(produced.predictions + produced.labels).toLocaleString('en')}  monitor lag ${lag ?? '?'}  policy lag ${policyLag ?? '?'}  alerts ${feed.alerts}  decisions ${feed.decisions}  ${Math.round((Date.now() - started) / 1000)}s`,
      )
    let ticking = true
    const ticker = (async () => {
      while (ticking) {
        try {
          lag = await monitorLag()
          policyLag = await probe.lag(policyGroup, [topics.triggers])
          await feed.poll()
        } catch (error) {
          logger.warn({ event: 'feed_failed', err: error }, 'live feed poll failed')
        }
        status()
        await sleep(1000)
      }
    })()
    closers.push(async () => {
      ticking = false
      await ticker
    })

    // The monitor recomputes windows in rounds over whatever arrived meanwhile: a backlog of about
    // a simulated day keeps rounds large (fast) while decisions stay close to the data.
    const maxLag = o.maxLag ?? 8_000
    // Events go out through the same helper service owners use (validated, Avro, keyed by prediction_id).
    const events = await createEventProducer({ brokers: env.KAFKA_BROKERS, schemaRegistryUrl: env.SCHEMA_REGISTRY_URL, topicPrefix: env.TOPIC_PREFIX, logger })
    closers.push(() => events.close())
    const result = await playScenario(scenario.events, events, {
      hoursPerSecond: o.speed,
      signal: o.signal,
      // Backpressure: the monitor must not fall far behind, or simulated time (and the policy's
      // clock) would run ahead of what it has seen.
      beforeHour: async () => {
        // The ticker's reading (at most a second or two old) lets the player go; when it says
        // the monitor is behind, wait on fresh readings.
        while (!o.signal?.aborted && (lag ?? 0) > maxLag) {
          await sleep(100)
          lag = await monitorLag()
        }
      },
      onHour: (hourStart, p) => {
        clock.advance(hourStart + 3_600_000)
        Object.assign(produced, p)
      },
    })
    const playedAt = Date.now()
    // Everything produced is consumed by the monitor, then its triggers by the policy.
    const deadline = Date.now() + 10 * 60_000
    while (!o.signal?.aborted && Date.now() < deadline) {
      const [m, p] = [await monitorLag(), await probe.lag(policyGroup, [topics.triggers])]
      if (m === 0 && p === 0) break
      await sleep(500)
    }
    const catchUpMs = Date.now() - playedAt
    // On-call delivery gets a few seconds to drain (an unreachable Alertmanager must not hold the run).
    await Promise.race([alerts.whenIdle(), sleep(10_000)])
    await feed.poll()
    term.done()
    const interrupted = o.signal?.aborted ?? false
    if (interrupted) say('Interrupted: stopping the services in order (finishing the batch in flight); summary of what was recorded so far.')
    else if (Date.now() >= deadline) say('The monitor or the policy did not catch up within 10 minutes: the summary shows what they recorded so far.')
    await closeAllExcept(closers, 1)
    const records = await loadRunRecords(ch, kafka, SCENARIO_MODEL, topics.retrainRequests, requestsFrom)
    const checks = checkOutcomes(records, context)
    const stats: RunStats = {
      wallMs: Date.now() - started,
      predictions: result.predictions,
      labels: result.labels,
      start: scenario.start,
      end: interrupted ? clock.now : scenario.end,
      catchUpMs,
    }
    for (const line of formatSummary(records, checks, context, stats, interrupted)) (o.out ?? process.stdout).write(`${line}\n`)
    return { ok: !interrupted && checks.every((c) => c.ok), interrupted, checks, records, stats, configPath: files.configPath, logPath }
  } finally {
    await closeAll()
    logDest.flushSync()
  }
}

/** Closes everything but the first `keep` resources (newest first): the services stop before the report reads ClickHouse. */
async function closeAllExcept(closers: (() => Promise<unknown>)[], keep: number): Promise<void> {
  while (closers.length > keep) await closers.pop()!().catch(() => undefined)
}
