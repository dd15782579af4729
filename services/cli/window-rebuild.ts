import { Command } from 'commander'
import type { ClickHouse } from '../shared/clickhouse/client.ts'
import { ConfigError, type DriftgateConfig } from '../shared/config/model-config.ts'
import type { RuntimeModel } from '../monitor/core/runtime-model.ts'
import { recomputeChunks } from '../monitor/core/window-lifecycle.ts'
import { loadRuntimeModels } from '../monitor/run/runtime-models.ts'
import { WindowStore } from '../monitor/store/window-store.ts'
import { newestRecordTime, storedWindowStarts, type EventTimeRange } from '../monitor/store/stored-windows.ts'
import { modelOf, parseTime } from './reference-build.ts'

export interface RebuiltSize {
  sizeMs: number
  windows: number
}

/**
 * Recomputes a model's window metrics (summaries, their history, feature statistics) from the
 * raw rows stored in the range, under the model's current config and reference profile, as the
 * monitor computes them. Alerts are not evaluated again.
 */
export async function rebuildWindows(ch: ClickHouse, model: RuntimeModel, range: EventTimeRange, onSize?: (done: RebuiltSize) => void): Promise<RebuiltSize[]> {
  const store = new WindowStore(ch)
  // The numbers are as of everything stored now: that is the data time their history rows carry.
  const dataTime = await newestRecordTime(ch, model.config.model_id)
  const out: RebuiltSize[] = []
  for (const sizeMs of model.config.windows) {
    const starts = await storedWindowStarts(ch, model.config.model_id, sizeMs, range)
    // Cut as the monitor cuts a backlog's windows.
    const refs = starts.map((start) => ({ model_id: model.config.model_id, window_size_ms: sizeMs, window_start: start }))
    for (const chunk of recomputeChunks(refs))
      await store.recompute(
        model,
        sizeMs,
        chunk.map((r) => r.window_start),
        { dataTime },
      )
    out.push({ sizeMs, windows: starts.length })
    onSize?.(out[out.length - 1]!)
  }
  return out
}

/** `driftgate windows rebuild`: after a reference profile or config change, or a fix. */
export function windowsCommand(deps: { config(): DriftgateConfig; withWriter<T>(use: (ch: ClickHouse) => Promise<T>): Promise<T> }): Command {
  const windows = new Command('windows').description("a model's window metrics")
  windows
    .command('rebuild')
    .description("recompute a model's window metrics from its stored predictions and labels, under the current config and reference profile")
    .requiredOption('--model <id>', 'model_id in the config')
    .option('--from <time>', 'windows starting at or after this event time (ISO-8601 or ms)')
    .option('--to <time>', 'windows starting before this event time')
    .action(async (opts: { model: string; from?: string; to?: string }) => {
      const config = deps.config()
      const model = loadRuntimeModels(config).get(modelOf(config, opts.model).model_id)!
      const range: EventTimeRange = {
        ...(opts.from ? { from: parseTime(opts.from, '--from') } : {}),
        ...(opts.to ? { to: parseTime(opts.to, '--to') } : {}),
      }
      if (range.from !== undefined && range.to !== undefined && range.to <= range.from) throw new ConfigError('--to must be after --from')
      const started = Date.now()
      await deps.withWriter((ch) =>
        rebuildWindows(ch, model, range, ({ sizeMs, windows: n }) =>
          console.log(`${model.config.model_id}: ${n} windows of ${sizeMs / 60_000} min recomputed`),
        ),
      )
      console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    })
  return windows
}
