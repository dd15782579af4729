import { Command, InvalidArgumentError } from 'commander'

// The main job's command line (`npm start -- --days 28 ...`), apart from main.ts so that it can
// be parsed without starting a run.

/** What a scenario plays (shared by the command line and runScenario). */
export interface ScenarioShape {
  days: number
  /** Simulated hours per real second; 0 plays as fast as the monitor keeps up. */
  speed: number
  peakPerHour: number
  seed: number
  /** Keep the model's earlier rows in ClickHouse instead of deleting them first. */
  keep?: boolean
  /** Only the summary, no progress or live lines. */
  quiet?: boolean
}

export interface MainOptions extends ScenarioShape {
  config: string
  out: string
}

const number =
  (name: string, min: number) =>
  (value: string): number => {
    const n = Number(value)
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}`)
    return n
  }

/** The command; `mainCommand().parse().opts<MainOptions>()` reads the process's arguments. */
export function mainCommand(): Command {
  return new Command()
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
}
