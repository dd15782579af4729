import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Command } from 'commander'
import type { ClickHouse } from '../shared/clickhouse/client.ts'
import { ConfigError, type DriftgateConfig, type ModelConfig } from '../shared/config/model-config.ts'
import type { LabelEvent, PredictionEvent } from '../shared/events/types.ts'
import type { ReferenceProfile } from '../shared/records/reference-profile.ts'
import { buildReferenceProfile } from '../monitor/core/reference/build-reference.ts'
import { checkReferenceSample, MIN_REFERENCE_ROWS } from '../monitor/core/reference/check-reference.ts'
import { readEventFile } from './produce-file.ts'
import { storedLabels, storedPredictions } from './store/reference-queries.ts'

export interface ReferenceBuildOptions {
  model: string
  file?: string
  from?: string
  to?: string
  out?: string
  minRows: string
  bins: string
}

/** An ISO-8601 time (with a zone, or a plain date taken as UTC) or milliseconds since the epoch. */
export function parseTime(text: string, flag: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isFinite(ms)) throw new ConfigError(`${flag} '${text}' is neither an ISO-8601 time nor milliseconds since the epoch`)
  return ms
}

export function modelOf(config: DriftgateConfig, id: string): ModelConfig {
  const model = config.models.find((m) => m.model_id === id)
  if (!model) throw new ConfigError(`model '${id}' is not in the config (models: ${config.models.map((m) => m.model_id).join(', ')})`)
  return model
}

/** Where the profile goes: --out, else the model's reference_profile (relative to the config file). */
export function profilePath(config: DriftgateConfig, model: ModelConfig, out?: string): string {
  if (out) return resolve(out)
  if (!model.reference_profile) throw new ConfigError(`model '${model.model_id}' has no reference_profile in its config: add one, or give --out`)
  return resolve(config.baseDir, model.reference_profile)
}

/** Checks the sample against the model's config and builds its profile. */
export function profileFromSample(
  model: ModelConfig,
  sample: { predictions: PredictionEvent[]; labels: LabelEvent[] },
  options: { source: string; now: number; minRows?: number; bins?: number },
): ReferenceProfile {
  checkReferenceSample(model, sample.predictions, options.minRows ?? MIN_REFERENCE_ROWS)
  const labels = sample.labels.filter((l) => l.model_id === model.model_id)
  return buildReferenceProfile(model, sample.predictions, labels, { source: options.source, now: options.now, bins: options.bins })
}

/** Written beside its final name and renamed, so a monitor never reads half a profile. */
export function writeProfile(path: string, profile: ReferenceProfile): void {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, JSON.stringify(profile, null, 1) + '\n')
  renameSync(tmp, path)
}

/**
 * `driftgate reference build`: a model's reference profile from a training sample (JSON lines of
 * predictions, with labels if known) or from its stored predictions of a time range.
 */
export function referenceCommand(deps: { config(): DriftgateConfig; withReader<T>(use: (ch: ClickHouse) => Promise<T>): Promise<T> }): Command {
  const reference = new Command('reference').description("a model's reference profile (the baseline drift is measured against)")
  reference
    .command('build')
    .description('build the profile from a training sample (--file) or stored predictions (--from, --to), checked against the model config')
    .requiredOption('--model <id>', 'model_id in the config')
    .option('--file <jsonl>', 'JSON lines: PredictionEvents of the training sample, LabelEvents optional')
    .option('--from <time>', 'stored predictions from this event time (ISO-8601 or ms)')
    .option('--to <time>', 'up to this event time, exclusive')
    .option('--out <path>', "write here instead of the model's reference_profile")
    .option('--min-rows <n>', 'fewest predictions accepted', String(MIN_REFERENCE_ROWS))
    .option('--bins <n>', 'quantile bins per numeric feature', '10')
    .action(async (opts: ReferenceBuildOptions) => {
      const config = deps.config()
      const model = modelOf(config, opts.model)
      const path = profilePath(config, model, opts.out)
      if (Boolean(opts.file) === Boolean(opts.from || opts.to)) throw new ConfigError('give either --file, or --from and --to')
      let sample: { predictions: PredictionEvent[]; labels: LabelEvent[] }
      let source: string
      if (opts.file) {
        const file = readEventFile(opts.file)
        if (file.errors.length > 0)
          throw new ConfigError(
            `${opts.file}: ${file.errors.length} bad lines:\n  ${file.errors
              .slice(0, 10)
              .map((e) => `line ${e.line}: ${e.message}`)
              .join('\n  ')}`,
          )
        sample = file
        source = `training-baseline:${opts.file}`
      } else {
        if (!opts.from || !opts.to) throw new ConfigError('--from and --to go together')
        const from = parseTime(opts.from, '--from')
        const to = parseTime(opts.to, '--to')
        if (to <= from) throw new ConfigError('--to must be after --from')
        sample = await deps.withReader(async (ch) => ({
          predictions: await storedPredictions(ch, model.model_id, from, to),
          labels: await storedLabels(ch, model.model_id, from, to),
        }))
        source = `stored:${new Date(from).toISOString()}/${new Date(to).toISOString()}`
      }
      const profile = profileFromSample(model, sample, { source, now: Date.now(), minRows: Number(opts.minRows), bins: Number(opts.bins) })
      writeProfile(path, profile)
      const labeled = profile.performance.labeled_count ?? 0
      console.log(
        `wrote ${path}: ${sample.predictions.length} predictions, ${labeled} labeled, ${Object.keys(profile.numeric).length} numeric and ${Object.keys(profile.categorical).length} categorical features`,
      )
    })
  return reference
}
