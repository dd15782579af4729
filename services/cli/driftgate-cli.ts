import { Command } from 'commander'
import { ClickHouse } from '../shared/clickhouse/client.ts'
import { assertReadOnlyUser } from '../shared/clickhouse/read-only-user.ts'
import { EventCodec } from '../shared/codec/event-codec.ts'
import { loadEnv, readOnlyPassword, type Env } from '../shared/config/env.ts'
import { loadDriftgateConfig } from '../shared/config/model-config.ts'
import { createKafka } from '../shared/kafka/kafka-client.ts'
import { consumerLag } from '../shared/kafka/consumer-lag.ts'
import { topicNames } from '../shared/kafka/topics.ts'
import { createLogger } from '../shared/logging/logger.ts'
import { createEventProducer } from '../shared/producer/event-producer.ts'
import { createContextLoader } from '../policy/store/context-loader.ts'
import { loadPolicies } from '../policy/core/policy-config.ts'
import { PolicyStore } from '../policy/store/policy-store.ts'
import { formatReport, replayPolicy } from '../policy/run/replay.ts'
import { deadLettersCommand, formatDeadLetters, listDeadLetters, modelIdReader } from './dead-letters.ts'
import { apiToken, recordInvestigation } from './investigation.ts'
import { produceFile } from './produce-file.ts'
import { referenceCommand } from './reference-build.ts'
import { windowsCommand } from './window-rebuild.ts'
import { startConsoleFromEnv } from '../console/run/start.ts'
import { firingAlertCount, latestWindows, listAlerts, listDecisions, listRetrains } from './store/cli-queries.ts'
import { formatTable } from './table.ts'

const env: Env = loadEnv()
const writer = (): ClickHouse =>
  new ClickHouse({ url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD })
const reader = (): ClickHouse =>
  new ClickHouse({
    url: env.CLICKHOUSE_URL,
    database: env.CLICKHOUSE_DATABASE,
    username: env.CLICKHOUSE_READONLY_USER,
    password: readOnlyPassword(env),
    readOnly: true,
  })

async function withClickHouse<T>(make: () => ClickHouse, use: (ch: ClickHouse) => Promise<T>): Promise<T> {
  const ch = make()
  try {
    if (ch.readOnly) await assertReadOnlyUser(ch, env.CLICKHOUSE_READONLY_USER)
    return await use(ch)
  } finally {
    await ch.close()
  }
}

const iso = (ms: number | null | undefined): string => (ms ? new Date(Number(ms)).toISOString().replace('.000Z', 'Z') : '')

async function groupLag(groupId: string, topics: string[]): Promise<number | null> {
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'driftgate-cli' }, createLogger('cli', 'error'))
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await consumerLag(admin, groupId, topics)
  } catch {
    return null
  } finally {
    await admin.disconnect()
  }
}

const program = new Command()
program
  .name('driftgate')
  .description(
    'Model monitoring and retraining gate: status, alerts, decisions, investigation outcomes, SQL, replay, produce, dead letters, reference profiles, window rebuilds.',
  )

program
  .command('status')
  .description('configured models, consumer lag and each model’s latest windows')
  .action(async () => {
    const config = loadDriftgateConfig(env.DRIFTGATE_CONFIG)
    const topics = topicNames(env.TOPIC_PREFIX)
    const lag = await groupLag(env.MONITOR_GROUP_ID, [topics.predictions, topics.labels])
    console.log(`monitor consumer group ${env.MONITOR_GROUP_ID}: lag ${lag ?? 'unknown'} records`)
    await withClickHouse(reader, async (ch) => {
      for (const model of config.models) {
        const rows = await latestWindows(ch, model.model_id, Math.min(...model.windows))
        const firing = await firingAlertCount(ch, model.model_id)
        console.log(`\n${model.model_id} (${model.task}; windows ${model.windows.map((w) => w / 60_000 + 'm').join(', ')}; firing alerts: ${firing})`)
        console.log(formatTable(rows.map((r) => ({ ...r, window_start: iso(r.window_start as number) }))))
      }
    })
  })

program
  .command('alerts')
  .description('alerts (firing by default)')
  .option('--all', 'include resolved alerts')
  .option('--model <id>', 'only this model')
  .option('--limit <n>', 'rows', '50')
  .action(async (opts: { all?: boolean; model?: string; limit: string }) => {
    await withClickHouse(reader, async (ch) => {
      const rows = await listAlerts(ch, { all: opts.all, model: opts.model, limit: Number(opts.limit) })
      console.log(
        formatTable(
          rows.map((r) => ({ ...r, first_seen: iso(r.first_seen as number), last_seen: iso(r.last_seen as number) })),
          100,
        ),
      )
    })
  })

program
  .command('decisions')
  .description('policy decisions, newest first: one line per change of answer (repeats: how often it was given)')
  .option('--model <id>', 'only this model')
  .option('--limit <n>', 'rows', '20')
  .action(async (opts: { model?: string; limit: string }) => {
    await withClickHouse(reader, async (ch) => {
      const rows = await listDecisions(ch, { model: opts.model, limit: Number(opts.limit) })
      console.log(
        formatTable(
          rows.map((r) => ({ ...r, decided_at: iso(r.decided_at as number), repeated_until: iso(r.repeated_until as number) })),
          120,
        ),
      )
    })
  })

program
  .command('retrains')
  .description('retrain requests, newest first, and whether each helped (once a newer version has matured labels)')
  .option('--model <id>', 'only this model')
  .option('--limit <n>', 'rows', '20')
  .action(async (opts: { model?: string; limit: string }) => {
    await withClickHouse(reader, async (ch) => {
      const rows = await listRetrains(ch, { model: opts.model, limit: Number(opts.limit) })
      console.log(formatTable(rows.map((r) => ({ ...r, requested_at: iso(r.requested_at as number) }))))
    })
  })

program
  .command('sql')
  .description('run a read-only query as the analyst user and print a table')
  .argument('<query>', 'SQL (SELECT / SHOW / DESCRIBE)')
  .action(async (query: string) => {
    await withClickHouse(reader, async (ch) => console.log(formatTable(await ch.query<Record<string, unknown>>(query), 80)))
  })

program
  .command('replay-policy')
  .description('dry run: what a policy config would have decided over the stored trigger history (writes nothing)')
  .option('--config <path>', 'driftgate config whose policy blocks are evaluated (default: DRIFTGATE_CONFIG)')
  .option('--model <id...>', 'only these models')
  .option('--source <source>', "'policy' (triggers the policy consumed) or 'monitor' (alert_events)", 'policy')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { config?: string; model?: string[]; source: 'policy' | 'monitor'; json?: boolean }) => {
    const policies = loadPolicies(loadDriftgateConfig(opts.config ?? env.DRIFTGATE_CONFIG))
    // The read-only user: a dry run cannot write even by mistake.
    await withClickHouse(reader, async (ch) => {
      const report = await replayPolicy({ store: new PolicyStore(ch), loader: createContextLoader(ch), policies, source: opts.source, models: opts.model })
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatReport(report))
    })
  })

program
  .command('investigation')
  .description('record what the investigation of an episode found (policy API, audited as the token owner)')
  .argument('<episode_id>', 'the episode (see driftgate decisions)')
  .argument('<outcome>', 'pipeline_bug, real_change or false_alarm')
  .option('--fixed-at <time>', 'pipeline_bug: when it was fixed (ISO-8601 with a zone, or ms)')
  .option('--comment <text>', 'what was found')
  .option('--api <url>', 'policy API (default: http://POLICY_API_HOST:POLICY_API_PORT)')
  .option('--token-file <path>', 'file holding your approver token (default: POLICY_API_TOKEN)')
  .action(async (episodeId: string, outcome: string, opts: { fixedAt?: string; comment?: string; api?: string; tokenFile?: string }) => {
    const api = opts.api ?? `http://${env.POLICY_API_HOST}:${env.POLICY_API_PORT}`
    const token = apiToken(opts.tokenFile, env.POLICY_API_TOKEN)
    console.log(await recordInvestigation({ api, token, episodeId, outcome, fixedAt: opts.fixedAt, comment: opts.comment }))
  })

program
  .command('produce')
  .description('send events from a JSON-lines file (predictions and labels), reporting bad lines')
  .argument('<file>', 'JSON lines: one PredictionEvent or LabelEvent per line')
  .option('--json', 'send as JSON instead of Avro')
  .action(async (file: string, opts: { json?: boolean }) => {
    const producer = await createEventProducer({
      brokers: env.KAFKA_BROKERS,
      schemaRegistryUrl: env.SCHEMA_REGISTRY_URL,
      topicPrefix: env.TOPIC_PREFIX,
      json: opts.json,
    })
    try {
      const report = await produceFile(file, producer)
      for (const e of report.errors) console.error(`${file}:${e.line}: ${e.message}`)
      console.log(`sent ${report.predictions} predictions and ${report.labels} labels; ${report.errors.length} lines rejected`)
      if (report.errors.length) process.exitCode = 1
    } finally {
      await producer.close()
    }
  })

program.addCommand(
  deadLettersCommand(async (opts) => {
    const topics = topicNames(env.TOPIC_PREFIX)
    const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'driftgate-cli' }, createLogger('cli', 'error'))
    // Avro values are decoded through the registry only to tell their model_id.
    const modelIdOf = modelIdReader(EventCodec.forRegistry(env.SCHEMA_REGISTRY_URL), topics.labels)
    const list = await listDeadLetters(kafka, topics.deadLetter, opts, modelIdOf)
    if (!list.complete)
      console.error(`driftgate: ${topics.deadLetter} not read to its end within ${opts.timeoutMs / 1000} s (--timeout): newer records may be missing`)
    console.log(formatDeadLetters(list, opts, topics.deadLetter))
  }),
)

program
  .command('console')
  .description('web console: models, windows, drift, episodes and approvals, dead letters (reads as the read-only user)')
  .option('--port <n>', 'port (default CONSOLE_PORT, 8088)')
  .option('--host <address>', 'interface (default CONSOLE_HOST, 127.0.0.1)')
  .action(async (opts: { port?: string; host?: string }) => {
    const server = await startConsoleFromEnv(env, createLogger('console', env.LOG_LEVEL), {
      port: opts.port === undefined ? undefined : Number(opts.port),
      host: opts.host,
    })
    console.log(`driftgate console at ${server.url} (Ctrl-C stops it)`)
    const stop = (): void => void server.closeAll().then(() => process.exit(0))
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })

program.addCommand(
  windowsCommand({
    config: () => loadDriftgateConfig(env.DRIFTGATE_CONFIG),
    withWriter: (use) => withClickHouse(writer, use),
  }),
)

program.addCommand(
  referenceCommand({
    config: () => loadDriftgateConfig(env.DRIFTGATE_CONFIG),
    withReader: (use) => withClickHouse(reader, use),
  }),
)

export { program, writer }

try {
  await program.parseAsync(process.argv)
} catch (error) {
  // A failed command says what went wrong in one line, not with a stack trace.
  console.error(`driftgate: ${(error as Error).message}`)
  process.exitCode = 1
}
