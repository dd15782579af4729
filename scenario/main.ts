import { join } from 'node:path'
import { loadEnv } from '../services/shared/config/env.ts'
import { mainCommand, type MainOptions } from './options.ts'
import { runScenario } from './run-scenario.ts'
import { SCENARIO_MODEL } from './scenario.ts'

// `npm start` after infra/local/up.sh: plays the credit-default scenario through the monitor and
// the policy service and exits 0 only when every phase led to the expected answer. Connections,
// database (CLICKHOUSE_DATABASE) and topic prefix (TOPIC_PREFIX) come from the environment.

const opts = mainCommand().parse().opts<MainOptions>()
const abort = new AbortController()
let interruptedAt = 0
process.on('SIGINT', () => {
  // First Ctrl-C: stop playing and shut the services down in order. npm and tsx may pass the same
  // Ctrl-C on once more, so only another one a few seconds later means "leave now".
  if (interruptedAt && Date.now() - interruptedAt > 3_000) process.exit(130)
  if (interruptedAt) return
  interruptedAt = Date.now()
  process.stderr.write('\nSIGINT: stopping in order (Ctrl-C again after a few seconds exits at once)\n')
  abort.abort()
})
process.on('SIGTERM', () => abort.abort())

try {
  const result = await runScenario({
    env: loadEnv(),
    days: opts.days,
    speed: opts.speed,
    peakPerHour: opts.peakPerHour,
    seed: opts.seed,
    keep: opts.keep,
    quiet: opts.quiet,
    templatePath: opts.config,
    outDir: opts.out,
    signal: abort.signal,
  })
  process.exitCode = result.interrupted ? 130 : result.ok ? 0 : 1
  if (!result.interrupted) {
    // The run's rows stay in ClickHouse: the console shows them with the effective config.
    const env = loadEnv()
    process.stdout.write(
      `\nSee it in the console: DRIFTGATE_CONFIG=${join(opts.out, 'driftgate.yaml')} npx driftgate console` +
        `  ->  http://${env.CONSOLE_HOST === '0.0.0.0' ? '127.0.0.1' : env.CONSOLE_HOST}:${env.CONSOLE_PORT}/models/${SCENARIO_MODEL}\n`,
    )
  }
} catch (error) {
  process.stderr.write(`driftgate main job failed: ${(error as Error).message}\n`)
  process.exitCode = 2
}
