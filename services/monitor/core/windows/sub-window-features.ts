import { ALL_SEGMENTS, type FeatureWindowStats, type WindowKey } from '../../../shared/records/window-metrics.ts'
import { emptyMoments, mergeMoments, type Moments } from '../../../shared/stats/moments.ts'
import type { RuntimeModel } from '../runtime-model.ts'
import { capCategories, featureId, groupId, numericStats, type FeatureAggregateRow } from './window-aggregate.ts'
import { profiledFeatures } from './profiled-features.ts'

/** More sub-windows than this (a day of minutes) would be more statistics to read than rows. */
const MAX_SUB_WINDOWS = 168

/**
 * The configured window size whose windows make up a window of `sizeMs`: the largest smaller
 * size that divides it, if the window holds at most MAX_SUB_WINDOWS of them (null: none). A
 * day's feature statistics are merged from its hours' instead of being read again from every
 * prediction of the day.
 */
export function subWindowSize(windows: number[], sizeMs: number): number | null {
  const divisors = windows.filter((w) => w < sizeMs && sizeMs % w === 0)
  const sub = divisors.length ? Math.max(...divisors) : null
  return sub !== null && sizeMs / sub <= MAX_SUB_WINDOWS ? sub : null
}

/** The window keys feature aggregate rows belong to: per window and model version, the rollup
 *  and each 'attribute=value' segment a row carries (the groups a summary has). */
export function keysOfAggregates(modelId: string, sizeMs: number, rows: FeatureAggregateRow[]): WindowKey[] {
  const keys = new Map<string, WindowKey>()
  for (const row of rows) {
    for (const segment of [ALL_SEGMENTS, ...row.segment_keys.filter((k) => k !== '')]) {
      const id = groupId({ window_start: row.window_start, model_version: row.model_version, segment })
      if (!keys.has(id))
        keys.set(id, { model_id: modelId, model_version: row.model_version, segment, window_size_ms: sizeMs, window_start: Number(row.window_start) })
    }
  }
  return [...keys.values()]
}

/** Whether categorical statistics kept only the most frequent values: a larger window's own top
 *  values cannot be merged from them. */
export function categoriesCapped(part: FeatureWindowStats): boolean {
  return (part.categorical?.overflow_values ?? 0) > 0
}

/**
 * Feature statistics of `keys` merged from those of their sub-windows (`parts`, of one smaller
 * size, none with capped categories): counts, nulls, histograms and category counts add up,
 * moments merge (Chan et al.) in sub-window order, so the same parts always give the same bits.
 * Each profiled feature is given for each key, with zero counts where no part has it, as
 * featuresFromAggregates gives them.
 */
export function mergeSubWindowFeatures(model: RuntimeModel, keys: WindowKey[], parts: FeatureWindowStats[]): FeatureWindowStats[] {
  const sizeMs = keys[0]?.window_size_ms ?? 1
  const byId = new Map<string, FeatureWindowStats[]>()
  for (const part of [...parts].sort((a, b) => a.key.window_start - b.key.window_start)) {
    const start = Math.floor(part.key.window_start / sizeMs) * sizeMs
    const id = featureId({ ...part.key, window_start: start }, part.feature)
    const list = byId.get(id)
    if (list) list.push(part)
    else byId.set(id, [part])
  }
  const { numeric, categorical } = profiledFeatures(model.config)
  const out: FeatureWindowStats[] = []
  for (const key of keys) {
    const of = (feature: string): FeatureWindowStats[] => byId.get(featureId(key, feature)) ?? []
    for (const feature of numeric) {
      const edges = model.binEdges.get(feature) ?? []
      const histogram = new Array<number>(edges.length ? edges.length + 1 : 0).fill(0)
      let moments: Moments = emptyMoments()
      let nulls = 0
      for (const { numeric: n } of of(feature)) {
        if (!n) continue
        nulls += n.nulls
        if (n.count === 0) continue
        n.histogram.forEach((c, i) => {
          if (i < histogram.length) histogram[i]! += c
        })
        const m2 = n.std === null ? 0 : n.std * n.std * n.count
        moments = mergeMoments(moments, { count: n.count, mean: n.mean!, m2, min: n.min!, max: n.max! })
      }
      out.push({ key, feature, categorical: null, numeric: numericStats(moments, nulls, edges, histogram) })
    }
    for (const feature of categorical) {
      let nulls = 0
      let unseen = 0
      const byCategory = new Map<string, number>()
      for (const { categorical: c } of of(feature)) {
        if (!c) continue
        nulls += c.nulls
        unseen += c.unseen
        c.categories.forEach((category, i) => byCategory.set(category, (byCategory.get(category) ?? 0) + c.counts[i]!))
      }
      out.push({ key, feature, numeric: null, categorical: { nulls, unseen, ...capCategories(byCategory, model.config.max_category_values) } })
    }
  }
  return out
}
