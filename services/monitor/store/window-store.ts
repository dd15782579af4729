import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import { ALL_SEGMENTS, type FeatureWindowStats, type WindowKey, type WindowSummary } from '../../shared/records/window-metrics.ts'
import { BoundedMap } from '../../shared/collections/bounded-map.ts'
import type { RuntimeModel } from '../core/runtime-model.ts'
import { windowRefKey, type WindowRef } from '../core/windows/window-math.ts'
import { windowCloseAt } from '../core/window-lifecycle.ts'
import { idleCloses, lastWindow } from './idle-closes.ts'
import { featureFromRecord, featureToRecord, summaryToRecord, type FeatureRecord } from '../core/windows/window-rows.ts'
import {
  emptySummary,
  featureId,
  featuresFromAggregates,
  summaryFromAggregate,
  type FeatureAggregateRow,
  type SummaryAggregateRow,
} from '../core/windows/window-aggregate.ts'
import { featureSettingsHash, profiledFeatures } from '../core/windows/profiled-features.ts'
import { categoriesCapped, keysOfAggregates, mergeSubWindowFeatures, subWindowSize } from '../core/windows/sub-window-features.ts'
import {
  asOfCondition,
  categoricalFeaturesSql,
  labelsByKey,
  labelsPastHorizonSql,
  numericFeaturesSql,
  segmentOverflow,
  summarySql,
  windowInputsSql,
  windowRowsSql,
  type AttributeValueCounts,
  type ReadMode,
  type WindowScope,
} from './window-sql.ts'

export interface ComputedWindows {
  summaries: WindowSummary[]
  features: FeatureWindowStats[]
  /** Per window start: the newest ingested_at among the rows its numbers come from. A
   *  computation that saw more data has a higher version and wins under FINAL, whatever order
   *  concurrent writers finish in. */
  versions: Map<number, string>
  /** Held-open windows not computed at all (`deferrable`): nothing of them was written. */
  deferred: number[]
  /** Window starts whose feature statistics were not recomputed: statistics of exactly these
   *  predictions under the same settings were stored already (by any instance; only labels or
   *  the close changed since), and `features` holds those. */
  featuresReused: number[]
  /** Window starts whose feature statistics were merged from their sub-windows' (a day's from
   *  its hours'), not read from their rows. */
  featuresMerged: number[]
  /** Window starts found closed (even those without rows of their own). */
  closedStarts: number[]
  /** Windows that would be closed but for a partition not read far enough yet, with the event
   *  time they close at (the model's low watermark must reach it). */
  blocked: { start: number; closeAt: number }[]
  /** Reads beyond the first: rows arrived while the numbers were read (WindowStore.movedWindows). */
  rereads: number
}

/** Computations of one model and window size as one. */
export function mergeComputed(parts: ComputedWindows[]): ComputedWindows {
  return {
    summaries: parts.flatMap((p) => p.summaries),
    features: parts.flatMap((p) => p.features),
    versions: new Map(parts.flatMap((p) => [...p.versions])),
    deferred: parts.flatMap((p) => p.deferred),
    featuresReused: parts.flatMap((p) => p.featuresReused),
    featuresMerged: parts.flatMap((p) => p.featuresMerged),
    closedStarts: parts.flatMap((p) => p.closedStarts),
    blocked: parts.flatMap((p) => p.blocked),
    rereads: parts.reduce((n, p) => n + p.rereads, 0),
  }
}

/** The columns of window_summary kept per as_of in window_summary_history. */
const HISTORY_COLUMNS = [
  'model_id',
  'model_version',
  'segment',
  'window_size_ms',
  'window_start',
  'window_end',
  'as_of',
  'volume',
  'labeled_count',
  'label_coverage',
  'label_delay_p50_ms',
  'label_delay_p90_ms',
  'accuracy',
  'precision',
  'recall',
  'f1',
  'log_loss',
  'roc_auc',
  'calibration_error',
  'mae',
  'rmse',
  'mape',
  'estimated_accuracy',
  'business_value',
  'closed',
  'data_version',
  'computed_at',
] as const

/** The window_summary_history row of a window_summary row. */
export function historyRow(summary: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(HISTORY_COLUMNS.map((c) => [c, summary[c]]))
}

/** A window left to the owner of its model (window_requests). */
export interface WindowRequest {
  ref: WindowRef
  urgent: boolean
  closeCheck: boolean
}

export interface RecomputeOptions {
  lowWatermark?: number
  deferrable?: Set<number>
  asOf?: number
  dataTime?: number
}

/** Reads of a computation before its numbers are written whatever arrived meanwhile. */
const MAX_READS = 3

/** A version as stored: the newest ingested_at, then the number of rows read (at most
 *  VERSION_ROWS − 1). */
const VERSION_ROWS = 1_000_000n

function versionString(newest: number, rows: number): string {
  return (BigInt(newest) * VERSION_ROWS + BigInt(Math.min(rows, Number(VERSION_ROWS) - 1))).toString()
}

/** What WindowStore.subWindowParts finds for a computation's windows. */
interface SubWindowParts {
  /** The windows whose feature statistics are merged from their sub-windows'. */
  windows: Set<number>
  stored: FeatureWindowStats[]
  fresh: FeatureWindowStats[]
  /** The version of each sub-window in `fresh`. */
  freshVersions: Map<number, string>
}

/** What windowInputsSql returns per window with rows. */
interface WindowInputs extends AttributeValueCounts {
  window_start: number
  newest: number
  records: number
  replayed: number
  /** Distinct prediction ids in the window. */
  ids: number
}

/** Merges sorted window starts into contiguous [from, to) ranges of event time. */
function ranges(starts: number[], size: number): [number, number][] {
  const out: [number, number][] = []
  for (const start of starts) {
    const last = out[out.length - 1]
    if (last && last[1] === start) last[1] = start + size
    else out.push([start, start + size])
  }
  return out
}

/**
 * Recomputes windows from their deduplicated raw events and writes their metrics. The rows are
 * aggregated inside ClickHouse (window-sql.ts): close times and the windows' inputs (version,
 * redeliveries), then summaries and features, and one insert per metrics table, for any number
 * of windows of one model and size; what comes back is a few rows per window, not its events.
 */
export class WindowStore {
  /** Per window, its predictions at its last computation here: how much a recomputation reads. */
  private readonly volumes = new BoundedMap<string, number>(100_000)

  /** `labelIndexMaxIds`: see labelsByKey (window-sql.ts). */
  constructor(
    private readonly ch: ClickHouse,
    private readonly options: { labelIndexMaxIds?: number } = {},
  ) {}

  /** `lowWatermark`: event time up to which every predictions partition has been read for this
   *  model (model-watermark.ts); a window whose end plus allowed_lateness lies beyond it stays
   *  open (a lagging partition may still hold its rows).
   *  Such a window among `deferrable` is not computed now but only reported (it is computed once
   *  the watermark passes its close time). `asOf`: the data time the windows are computed as of
   *  (records stamped later are left out, closes included; default: everything stored);
   *  `dataTime`: what the rows record as their as_of when that is everything stored. */
  async recompute(model: RuntimeModel, sizeMs: number, starts: number[], options: RecomputeOptions = {}): Promise<ComputedWindows> {
    for (let read = 1; ; read++) {
      const computed = await this.computeOnce(model, sizeMs, starts, options, read === MAX_READS)
      if (computed) return { ...computed, rereads: read - 1 }
    }
  }

  /** One read and, unless rows arrived while it ran (then null, to read again; on the `last`
   *  read the numbers are written anyway and the next computation recomputes them), the write. */
  private async computeOnce(
    model: RuntimeModel,
    sizeMs: number,
    starts: number[],
    options: RecomputeOptions,
    last: boolean,
  ): Promise<Omit<ComputedWindows, 'rereads'> | null> {
    const { lowWatermark = Infinity, deferrable = new Set<number>(), asOf = Infinity } = options
    const recordedAsOf = Number.isFinite(asOf) ? asOf : Math.max(0, options.dataTime ?? 0)
    const modelId = model.config.model_id
    const sorted = [...new Set(starts)].sort((a, b) => a - b)
    const scope: WindowScope = {
      predictions: this.ch.table('predictions'),
      labels: this.ch.table('labels'),
      model: model.config,
      sizeMs,
      spans: ranges(sorted, sizeMs),
      asOf,
    }
    const lateness = model.config.allowed_lateness
    const closeAtOf = (start: number): number => windowCloseAt(start, sizeMs, lateness)

    // A window closes at the arrival (Kafka timestamp) of the first prediction stamped at least
    // allowed_lateness after its end (looking one window ahead). Derived from stored data only,
    // so a replay or a second instance finds the same close time.
    const settingsHash = featureSettingsHash(model)
    const closingRanges = `model_id = ${lit(modelId)} AND (${ranges(sorted.map(closeAtOf), sizeMs)
      .map(([from, to]) => `(event_time >= ${from} AND event_time < ${to})`)
      .join(' OR ')})${asOfCondition(asOf)}`
    // The windows' own rows are read with their closes, except when a window may be deferred
    // (held open while a backlog is read): then only those of the windows computed.
    const rowsOf = (of: WindowScope, starts: number[]) =>
      Promise.all([
        this.ch.query<WindowInputs>(windowInputsSql(of)),
        this.ch.query<{ past: number }>(labelsPastHorizonSql(of)),
        this.storedFeatureVersions(model, sizeMs, `window_start IN (${starts.join(', ')})`),
      ])
    const mayDefer = sorted.some((start) => deferrable.has(start) && closeAtOf(start) > lowWatermark)
    const [[closes, closedIdle], readWithCloses] = await Promise.all([
      Promise.all([
        this.ch.query<{ closing: number; n: number; u: number; t: number; v: number }>(
          // Each row is in the closing range of exactly one window (ranges of consecutive windows
          // abut), so one grouped pass serves every window of the call.
          `SELECT intDiv(event_time - ${sizeMs + lateness}, ${sizeMs}) * ${sizeMs} AS closing, count() AS n,
                  uniqExact(prediction_id, kafka_partition, kafka_offset) AS u, min(kafka_timestamp) AS t, max(ingested_at) AS v
           FROM ${this.ch.table('predictions')}
           WHERE ${closingRanges} GROUP BY closing`,
        ),
        idleCloses(this.ch, modelId, sizeMs, sorted),
      ]),
      mayDefer ? null : rowsOf(scope, sorted),
    ])
    const closing = new Map(closes.map((c) => [Number(c.closing), c]))
    const closeTimes = new Map<number, number>()
    const closedStarts: number[] = []
    const blocked: { start: number; closeAt: number }[] = []
    // A window's version: the newest ingested_at among the rows it was computed from, then the
    // number of those rows. Two computations that read the same newest row but not the same
    // rows (an insert became visible in between) still differ, and the one that saw more wins.
    const versions = new Map<number, { newest: number; rows: number }>(sorted.map((s) => [s, { newest: 0, rows: 0 }]))
    const bump = (start: number, newest: number, rows: number): void => {
      const v = versions.get(start)
      if (!v) return
      v.newest = Math.max(v.newest, newest)
      v.rows += rows
    }
    sorted.forEach((start) => {
      const closeRow = closing.get(start)
      if (!closeRow || Number(closeRow.n) === 0) {
        // No closing prediction: closed by processing time if that was recorded (idle-closes.ts).
        const idle = closedIdle.get(start)
        if (idle !== undefined) {
          closeTimes.set(start, idle)
          closedStarts.push(start)
        }
        return
      }
      const closeTs = Math.min(Number(closeRow.t), closedIdle.get(start) ?? Infinity)
      // A close recorded by processing time was taken with every partition read to its end.
      const closeAt = closeAtOf(start)
      if (!closedIdle.has(start) && closeAt > lowWatermark) {
        blocked.push({ start, closeAt })
        return
      }
      closeTimes.set(start, closeTs)
      closedStarts.push(start)
      // The rows that closed the window are part of what this computation saw.
      bump(start, Number(closeRow.v), Number(closeRow.u))
    })
    const deferred = blocked.map((b) => b.start).filter((start) => deferrable.has(start))
    for (const start of deferred) versions.delete(start)
    const computing = sorted.filter((s) => versions.has(s))
    if (computing.length === 0)
      return { summaries: [], features: [], featuresReused: [], featuresMerged: [], deferred, versions: new Map(), closedStarts, blocked }
    const summaryScope: WindowScope = deferred.length > 0 ? { ...scope, spans: ranges(computing, sizeMs) } : scope
    const [inputs, pastHorizon, featureVersionsStored] = readWithCloses ?? (await rowsOf(summaryScope, computing))
    for (const i of inputs) bump(i.window_start, i.newest, i.records)
    // Redelivered records not merged away yet: read with FINAL, which collapses them. A
    // prediction_id at two offsets: looked for and counted as a duplicate. No label past the
    // horizon of the first window: labels read per prediction id. No window with more values of
    // a segment attribute than are kept: values not ranked (window-sql.ts).
    const read: ReadMode = {
      final: inputs.some((i) => i.replayed > 0),
      duplicates: inputs.some((i) => Number(i.ids) < Number(i.records)),
      labelsWithinHorizon: Number(pastHorizon[0]?.past ?? 0) === 0,
      // The inputs are those of the windows computed (read for them alone when some are deferred).
      labelsByKey: labelsByKey(
        inputs.reduce((n, i) => n + Number(i.ids), 0),
        this.options.labelIndexMaxIds,
      ),
      segmentOverflow: segmentOverflow(model.config, inputs),
    }

    // Feature statistics depend on the predictions only, so their version counts those: a window
    // recomputed for its labels or its close, by this instance or another, reuses the stored
    // ones, which saves the larger half of the work for the windows labels keep touching.
    const featureVersions = new Map(inputs.map((i) => [Number(i.window_start), versionString(Number(i.newest), Number(i.records))]))
    const withRows = computing.filter((s) => featureVersions.has(s))
    const featureStarts = withRows.filter((s) => featureVersionsStored.get(s) !== featureVersions.get(s))
    const featuresReused = withRows.filter((s) => !featureStarts.includes(s))
    const fromSubWindows = await this.subWindowParts(model, scope, featureStarts, inputs, read.final)
    const rawStarts = featureStarts.filter((s) => !fromSubWindows.windows.has(s))
    const featureScope: WindowScope = { ...scope, spans: ranges(rawStarts, sizeMs) }
    const [summaryRows, numericRows, categoricalRows] = await Promise.all([
      this.ch.query<SummaryAggregateRow>(summarySql(summaryScope, closeTimes, read)),
      rawStarts.length > 0 ? this.ch.query<FeatureAggregateRow>(numericFeaturesSql(featureScope, model.binEdges, read)) : [],
      rawStarts.length > 0 && profiledFeatures(model.config).categorical.length > 0
        ? this.ch.query<FeatureAggregateRow>(categoricalFeaturesSql(featureScope, read))
        : [],
    ])
    if (!last && (await this.movedWindows(summaryScope, computing, inputs, read)).size > 0) return null
    // The labels read with the numbers (counted once per window: on its rollup rows).
    for (const r of summaryRows) if (r.segment === ALL_SEGMENTS) bump(r.window_start, r.label_newest, r.label_records)
    const summaries = summaryRows
      .filter((r) => versions.has(r.window_start))
      .map((r) => summaryFromAggregate(model, sizeMs, r, closeTimes.has(r.window_start)))
      .sort(
        (a, b) =>
          a.key.window_start - b.key.window_start ||
          (a.key.model_version < b.key.model_version ? -1 : a.key.model_version > b.key.model_version ? 1 : 0) ||
          (a.key.segment < b.key.segment ? -1 : a.key.segment > b.key.segment ? 1 : 0),
      )
    // Windows closed by processing time without a single prediction get an empty summary.
    const empty = computing.filter((start) => closedIdle.has(start) && !featureVersions.has(start) && !summaries.some((x) => x.key.window_start === start))
    if (empty.length > 0) {
      const version = (await lastWindow(this.ch, modelId, sizeMs))?.version ?? ''
      for (const start of empty)
        summaries.push(emptySummary({ model_id: modelId, model_version: version, segment: ALL_SEGMENTS, window_size_ms: sizeMs, window_start: start }))
      summaries.sort((a, b) => a.key.window_start - b.key.window_start)
    }
    const features = featuresFromAggregates(
      model,
      summaries.map((s) => s.key).filter((k) => rawStarts.includes(k.window_start)),
      [...numericRows, ...categoricalRows],
    )
    if (fromSubWindows.windows.size > 0) {
      const parts = [...fromSubWindows.stored, ...(await this.storeSubWindowFeatures(model, fromSubWindows.fresh, fromSubWindows.freshVersions))]
      features.push(
        ...mergeSubWindowFeatures(
          model,
          summaries.map((s) => s.key).filter((k) => fromSubWindows.windows.has(k.window_start)),
          parts,
        ),
      )
    }
    const stored = await this.storedFeatures(
      model,
      sizeMs,
      summaries.map((s) => s.key).filter((k) => featuresReused.includes(k.window_start)),
      featureVersions,
    )
    const versionStrings = new Map([...versions].map(([start, v]) => [start, versionString(v.newest, v.rows)]))
    await this.write(summaries, versionStrings, features, featureVersions, settingsHash, recordedAsOf)
    for (const i of inputs)
      this.volumes.set(windowRefKey({ model_id: modelId, window_size_ms: sizeMs, window_start: Number(i.window_start) }), Number(i.records))
    return {
      summaries,
      features: [...features, ...stored],
      featuresReused,
      featuresMerged: [...fromSubWindows.windows],
      deferred,
      versions: versionStrings,
      closedStarts,
      blocked,
    }
  }

  /**
   * The windows whose stored predictions changed while the aggregates read them, or all of them
   * when a label past the horizon arrived although the read assumed none. The read modes and the
   * version come from the inputs read before the aggregates; an insert in between (another
   * instance's, or a redelivery) can hand the aggregates rows the modes did not plan for (a
   * redelivered copy read without FINAL), under a version that does not claim them, which a
   * correct computation of the same version may not replace.
   */
  private async movedWindows(scope: WindowScope, computing: number[], inputs: WindowInputs[], read: ReadMode): Promise<Set<number>> {
    const [rows, pastHorizon] = await Promise.all([
      this.ch.query<{ window_start: number; newest: number; rows: number }>(windowRowsSql(scope, read.final)),
      read.labelsWithinHorizon ? this.ch.query<{ past: number }>(labelsPastHorizonSql(scope)) : [],
    ])
    if (Number(pastHorizon[0]?.past ?? 0) > 0) return new Set(computing)
    const before = new Map(
      inputs.map((i) => [Number(i.window_start), `${i.newest}/${read.final ? Number(i.records) : Number(i.records) + Number(i.replayed)}`]),
    )
    const after = new Map(rows.map((r) => [Number(r.window_start), `${r.newest}/${r.rows}`]))
    return new Set(computing.filter((start) => before.get(start) !== after.get(start)))
  }

  /** The predictions a window held when this store last computed it (unknown: undefined). */
  rowsOf(ref: WindowRef): number | undefined {
    return this.volumes.get(windowRefKey(ref))
  }

  /**
   * For the windows of `starts` whose feature statistics can be merged from their sub-windows'
   * (subWindowSize; every row a first arrival in both, no segment value left out, not computed
   * as of an earlier time): the sub-windows' statistics stored at their current versions, and
   * those of sub-windows stored at an older version or not at all, computed here (`fresh`, to be
   * written once the computation's reads are found consistent). A window some sub-window of
   * which capped its categories, or holds too many rows for its version to count, is left out:
   * its statistics are computed from its rows. Which way a window goes depends on its stored
   * rows only, so a replay or another instance stores the same numbers.
   */
  private async subWindowParts(model: RuntimeModel, scope: WindowScope, starts: number[], inputs: WindowInputs[], final: boolean): Promise<SubWindowParts> {
    const none: SubWindowParts = { windows: new Set(), stored: [], fresh: [], freshVersions: new Map() }
    const sub = scope.asOf === undefined || !Number.isFinite(scope.asOf) ? subWindowSize(model.config.windows, scope.sizeMs) : null
    const inputOf = new Map(inputs.map((i) => [Number(i.window_start), i]))
    const candidates = starts.filter((s) => inputOf.has(s) && !segmentOverflow(model.config, [inputOf.get(s)!]))
    if (sub === null || candidates.length === 0) return none
    const modelId = model.config.model_id
    const windowOf = (start: number): number => Math.floor(start / scope.sizeMs) * scope.sizeMs
    const within = ranges(candidates, scope.sizeMs).map(([from, to]) => `(window_start >= ${from} AND window_start < ${to})`)
    const stored = await this.storedFeatureVersions(model, sub, `(${within.join(' OR ')})`)
    const rowsOf = (version: string): bigint => BigInt(version) % VERSION_ROWS
    // Rows only get added, so sub-window versions whose rows add up to the window's are current.
    const usable = new Set<number>()
    const stale = new Set<number>()
    for (const start of candidates) {
      const versions = [...stored].filter(([subStart]) => windowOf(subStart) === start).map(([, v]) => v)
      if (versions.some((v) => rowsOf(v) >= VERSION_ROWS - 1n)) continue
      const rows = versions.reduce((n, v) => n + Number(rowsOf(v)), 0)
      const newest = versions.reduce((n, v) => Math.max(n, Number(BigInt(v) / VERSION_ROWS)), 0)
      usable.add(start)
      if (rows !== Number(inputOf.get(start)!.records) || newest !== Number(inputOf.get(start)!.newest)) stale.add(start)
    }
    // A prediction_id stored at two offsets counts once in a window, at its first arrival: the
    // sub-windows' statistics are those of the window only if no id has copies in two of them.
    const duplicated = [...usable].filter((s) => Number(inputOf.get(s)!.ids) < Number(inputOf.get(s)!.records))
    const freshVersions = new Map<number, string>()
    let freshDuplicates = false
    const looked = [...usable].filter((s) => stale.has(s) || duplicated.includes(s))
    if (looked.length > 0) {
      const ids = new Map<number, number>()
      for (const i of await this.ch.query<WindowInputs>(windowInputsSql({ ...scope, sizeMs: sub, spans: ranges(looked, scope.sizeMs) }))) {
        const subStart = Number(i.window_start)
        const start = windowOf(subStart)
        ids.set(start, (ids.get(start) ?? 0) + Number(i.ids))
        if (Number(i.records) >= Number(VERSION_ROWS) - 1) usable.delete(start)
        const version = versionString(Number(i.newest), Number(i.records))
        if (stale.has(start) && stored.get(subStart) !== version) {
          freshVersions.set(subStart, version)
          freshDuplicates ||= Number(i.ids) < Number(i.records)
        }
      }
      for (const start of duplicated) if (ids.get(start) !== Number(inputOf.get(start)!.ids)) usable.delete(start)
    }
    const storedCurrent = [...stored].filter(([subStart]) => usable.has(windowOf(subStart)) && !freshVersions.has(subStart))
    const freshStarts = [...freshVersions.keys()].filter((subStart) => usable.has(windowOf(subStart)))
    const freshScope: WindowScope = { ...scope, sizeMs: sub, spans: ranges(freshStarts, sub) }
    const read: ReadMode = { final, duplicates: freshDuplicates, labelsWithinHorizon: true, labelsByKey: false, segmentOverflow: false }
    const [storedParts, numericRows, categoricalRows] = await Promise.all([
      this.featuresAt(model, sub, storedCurrent),
      freshStarts.length > 0 ? this.ch.query<FeatureAggregateRow>(numericFeaturesSql(freshScope, model.binEdges, read)) : [],
      freshStarts.length > 0 && profiledFeatures(model.config).categorical.length > 0
        ? this.ch.query<FeatureAggregateRow>(categoricalFeaturesSql(freshScope, read))
        : [],
    ])
    const aggregates = [...numericRows, ...categoricalRows]
    const fresh = featuresFromAggregates(model, keysOfAggregates(modelId, sub, aggregates), aggregates)
    for (const part of [...storedParts, ...fresh]) if (categoriesCapped(part)) usable.delete(windowOf(part.key.window_start))
    const kept = (part: FeatureWindowStats): boolean => usable.has(windowOf(part.key.window_start))
    return { windows: usable, stored: storedParts.filter(kept), fresh: fresh.filter(kept), freshVersions }
  }

  /** Per window start matching `where`, the newest version of its stored feature statistics
   *  under the model's current settings. */
  private async storedFeatureVersions(model: RuntimeModel, sizeMs: number, where: string): Promise<Map<number, string>> {
    const rows = await this.ch.query<{ window_start: number; version: string }>(
      `SELECT window_start, toString(max(data_version)) AS version FROM ${this.ch.table('window_feature_stats')}
       WHERE model_id = ${lit(model.config.model_id)} AND window_size_ms = ${sizeMs} AND settings_hash = ${lit(featureSettingsHash(model))} AND ${where}
       GROUP BY window_start`,
    )
    return new Map(rows.map((r) => [Number(r.window_start), r.version]))
  }

  /** Writes sub-window feature statistics computed by subWindowParts and reads them back, so a
   *  merge always starts from the stored numbers. */
  private async storeSubWindowFeatures(model: RuntimeModel, fresh: FeatureWindowStats[], versions: Map<number, string>): Promise<FeatureWindowStats[]> {
    if (fresh.length === 0) return []
    await this.insertFeatures(fresh, versions, featureSettingsHash(model), Date.now())
    const starts = [...new Set(fresh.map((f) => f.key.window_start))]
    return this.featuresAt(
      model,
      fresh[0]!.key.window_size_ms,
      starts.map((start) => [start, versions.get(start)!]),
    )
  }

  /** The stored feature statistics of these windows at exactly these versions under the model's
   *  current settings, each once (two instances, or a window and the larger one holding it, may
   *  both have written one: the same numbers). */
  private async featuresAt(model: RuntimeModel, sizeMs: number, versions: [number, string][]): Promise<FeatureWindowStats[]> {
    if (versions.length === 0) return []
    const rows = await this.ch.query<FeatureRecord>(
      `SELECT * FROM ${this.ch.table('window_feature_stats')}
       WHERE model_id = ${lit(model.config.model_id)} AND window_size_ms = ${sizeMs} AND settings_hash = ${lit(featureSettingsHash(model))}
         AND (window_start, data_version) IN (${versions.map(([start, version]) => `(${start}, ${version})`).join(', ')})`,
    )
    const once = new Map<string, FeatureWindowStats>()
    for (const row of rows) {
      const f = featureFromRecord(row)
      once.set(featureId(f.key, f.feature), f)
    }
    return [...once.values()]
  }

  /** The stored feature statistics of these windows at their `versions` under the model's
   *  current settings, in the order featuresFromAggregates gives. */
  private async storedFeatures(model: RuntimeModel, sizeMs: number, keys: WindowKey[], versions: Map<number, string>): Promise<FeatureWindowStats[]> {
    if (keys.length === 0) return []
    const starts = [...new Set(keys.map((k) => k.window_start))]
    const byId = new Map(
      (
        await this.featuresAt(
          model,
          sizeMs,
          starts.map((start) => [start, versions.get(start)!]),
        )
      ).map((f) => [featureId(f.key, f.feature), f]),
    )
    const { numeric, categorical } = profiledFeatures(model.config)
    return keys.flatMap((k) => [...numeric, ...categorical].flatMap((f) => byId.get(featureId(k, f)) ?? []))
  }

  /** ClickHouse's clock, in seconds (window-owner.ts). */
  async serverSecond(): Promise<number> {
    const [row] = await this.ch.query<{ now: number }>('SELECT toUInt32(now()) AS now')
    return Number(row!.now)
  }

  /** Records that the windows were computed and judged (their alerts published) by a computation
   *  that began reading at `computedFrom` (window-owner.ts). */
  async recordJudged(modelId: string, sizeMs: number, starts: number[], computedFrom: number): Promise<void> {
    await this.ch.insert(
      'window_computations',
      starts.map((window_start) => ({ model_id: modelId, window_size_ms: sizeMs, window_start, computed_from: computedFrom })),
    )
  }

  /** Per model, when (server seconds) the latest judged computation of any of its windows began. */
  async latestJudged(modelIds: string[]): Promise<Map<string, number>> {
    if (modelIds.length === 0) return new Map()
    const rows = await this.ch.query<{ model_id: string; computed_from: number }>(
      `SELECT model_id, max(computed_from) AS computed_from FROM ${this.ch.table('window_computations')}
       WHERE model_id IN (${modelIds.map(lit).join(', ')}) GROUP BY model_id`,
    )
    return new Map(rows.map((r) => [r.model_id, Number(r.computed_from)]))
  }

  /** Asks the owner of the windows' model to compute them: records of them were stored at
   *  `requestedAt` (server seconds) by an instance that leaves them to it. `closeCheck`: the
   *  records may only close the window (none of them is in it). */
  async requestWindows(requests: WindowRequest[], requestedAt: number): Promise<void> {
    if (requests.length === 0) return
    await this.ch.insert(
      'window_requests',
      requests.map(({ ref, urgent, closeCheck }) => ({ ...ref, requested_at: requestedAt, urgent: urgent ? 1 : 0, close_check: closeCheck ? 1 : 0 })),
    )
  }

  /** The windows of the models asked for in the last `lookbackSeconds` (server time) and not
   *  computed since (no judged computation began after the request), whether one asked for
   *  urgently, and whether every one only asked for the close. Computations begun before the
   *  lookback cannot be after any such request. */
  async requestedWindows(modelIds: string[], lookbackSeconds: number): Promise<WindowRequest[]> {
    if (modelIds.length === 0) return []
    const models = modelIds.map(lit).join(', ')
    const requested = `SELECT model_id, window_size_ms, window_start, requested_at, urgent, close_check FROM ${this.ch.table('window_requests')}
       WHERE model_id IN (${models}) AND requested_at >= toUInt32(now()) - ${Math.floor(lookbackSeconds)}`
    const rows = await this.ch.query<WindowRef & { urgent: number; close_check: number }>(
      `SELECT model_id, window_size_ms, window_start, max(urgent) AS urgent, min(close_check) AS close_check
       FROM (${requested}) AS requested
       ANY LEFT JOIN (
         SELECT model_id, window_size_ms, window_start, max(computed_from) AS judged_from FROM ${this.ch.table('window_computations')}
         WHERE model_id IN (${models}) AND computed_from >= toUInt32(now()) - ${Math.floor(lookbackSeconds)}
         GROUP BY model_id, window_size_ms, window_start
       ) AS judged USING (model_id, window_size_ms, window_start)
       WHERE requested_at >= judged_from
       GROUP BY model_id, window_size_ms, window_start`,
    )
    return rows.map((r) => ({
      ref: { model_id: r.model_id, window_size_ms: Number(r.window_size_ms), window_start: Number(r.window_start) },
      urgent: Number(r.urgent) === 1,
      closeCheck: Number(r.close_check) === 1,
    }))
  }

  /** Per window, when the latest computation judged so far began reading (ClickHouse seconds). */
  async judgedFrom(modelId: string, sizeMs: number, starts: number[]): Promise<Map<number, number>> {
    if (starts.length === 0) return new Map()
    const rows = await this.ch.query<{ window_start: number; computed_from: number }>(
      `SELECT window_start, max(computed_from) AS computed_from FROM ${this.ch.table('window_computations')}
       WHERE model_id = ${lit(modelId)} AND window_size_ms = ${sizeMs} AND window_start IN (${starts.join(', ')})
       GROUP BY window_start`,
    )
    return new Map(rows.map((r) => [Number(r.window_start), Number(r.computed_from)]))
  }

  private async write(
    summaries: WindowSummary[],
    versions: Map<number, string>,
    features: FeatureWindowStats[],
    featureVersions: Map<number, string>,
    settingsHash: string,
    asOf: number,
  ): Promise<void> {
    const computedAt = Date.now()
    const rows = summaries.map((s) => ({
      ...summaryToRecord(s),
      window_end: s.key.window_start + s.key.window_size_ms,
      window_start_time: Math.floor(s.key.window_start / 1000),
      data_version: versions.get(s.key.window_start) ?? '0',
      as_of: asOf,
      computed_at: computedAt,
    }))
    await this.ch.insert('window_summary', rows)
    await this.ch.insert('window_summary_history', rows.map(historyRow))
    await this.insertFeatures(features, featureVersions, settingsHash, computedAt)
  }

  private async insertFeatures(features: FeatureWindowStats[], versions: Map<number, string>, settingsHash: string, computedAt: number): Promise<void> {
    await this.ch.insert(
      'window_feature_stats',
      features.map((f) => ({
        ...featureToRecord(f),
        data_version: versions.get(f.key.window_start) ?? '0',
        settings_hash: settingsHash,
        computed_at: computedAt,
      })),
    )
  }
}
