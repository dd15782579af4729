import { Command, InvalidArgumentError } from 'commander'
import { loadEnv } from '../shared/config/env.ts'
import { runScenario } from './run-scenario.ts'

// `npm start` after infra/local/up.sh: plays the credit-default scenario through the monitor and
// the policy service and exits 0 only when every phase led to the expected answer. Connections,
// database (CLICKHOUSE_DATABASE) and topic prefix (TOPIC_PREFIX) come from the environment.

const number = (name: string, min: number) => (value: string): number => {
  const n = Number(value)
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}`)
  return n
}

const program = new Command()
  .name('npm start --')
  .description('Plays a simulated production scenario for the credit-default model through driftgate and checks the outcomes.')
  .option('--days <n>', 'simulated days (phases scale with it; at least 28 keep Black Friday and the concept drift apart)', number('--days', 28), 42)
  .option('--speed <hours>', 'simulated hours per real second (0: as fast as the monitor keeps up)', number('--speed', 0), 0)
  .option('--peak-per-hour <n>', 'predictions per hour at the daily peak', number('--peak-per-hour', 50), 300)
  .option('--seed <n>', 'scenario seed', number('--seed', 0), 1)
  .option('--keep', "keep the model's earlier rows in ClickHouse (no reset before the run)")
  .option('--quiet', 'print only the summary')
  .option('--config <path>', 'example config the effective one is written from', 'config/driftgate.yaml')
  .option('--out <dir>', 'where the effective config, reference profile and service log go', '.local/scenario')
  .parse()

const opts = program.opts<{ days: number; speed: number; peakPerHour: number; seed: number; keep?: boolean; quiet?: boolean; config: string; out: string }>()
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
} catch (error) {
  process.stderr.write(`driftgate main job failed: ${(error as Error).message}\n`)
  process.exitCode = 2
}
