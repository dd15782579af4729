import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'
import type { NumericStats } from '../../services/shared/records/window-metrics.ts'
import type { ExpectedWindowCounts } from './expected-windows.ts'

// Expected window metrics of a regression or multiclass model, computed by brute force from the
// records as they were stored (Kafka partition, offset and timestamp included), without the
// monitor's code: deduplication, first arrivals, latest labels, close times, every metric and
// every profiled feature are recomputed here from the events.

/** An event as stored: where and when it was read from Kafka. */
export interface StoredEvent<E> {
  event: E
  partition: number
  offset: number
  timestamp: number
}

export interface TaskModelSpec {
  modelId: string
  task: 'regression' | 'multiclass_classification'
  /** Multiclass: the configured classes, in the order of the confusion matrix. */
  classes: string[]
  numeric: string[]
  categorical: string[]
  segments: string[]
  /** Reference bin edges per numeric feature or pseudo-feature (absent: no histogram). */
  binEdges: Record<string, number[]>
  /** Reference categories per categorical feature or pseudo-feature (absent: nothing unseen). */
  known: Record<string, string[]>
  latenessMs: number
  horizonMs: number
  costs: { true_positive: number; false_positive: number; per_unit_abs_error: number }
}

/** A numeric feature's expected statistics: the stored shape, computed here independently. */
export type ExpectedNumeric = NumericStats

export interface ExpectedCategorical {
  count: number
  nulls: number
  counts: Record<string, number>
  unseen: number
}

export interface ExpectedTaskWindow extends ExpectedWindowCounts {
  label_coverage: number
  closed: boolean
  delay_p50: number | null
  delay_p90: number | null
  delay_p99: number | null
  accuracy: number | null
  precision: number | null
  recall: number | null
  f1: number | null
  log_loss: number | null
  classes: string[]
  confusion: number[][]
  mae: number | null
  rmse: number | null
  mape: number | null
  bias: number | null
  error_fourth_moment: number | null
  business_value: number
  numeric: Record<string, ExpectedNumeric>
  categorical: Record<string, ExpectedCategorical>
}

export const PSEUDO = { score: '__score', predictedClass: '__predicted_class', predictedValue: '__predicted_value' } as const

/** The class the prediction names: the one sent, else the first class with the highest score. */
export function expectedPredictedClass(p: PredictionEvent): string | null {
  if (p.prediction.predicted_class !== null) return p.prediction.predicted_class
  let best: string | null = null
  let bestScore = -Infinity
  for (const [c, s] of Object.entries(p.prediction.scores)) {
    if (s > bestScore) {
      best = c
      bestScore = s
    }
  }
  return best
}

/** A multiclass model's score: its highest class score (null without scores). */
export function expectedTopScore(p: PredictionEvent): number | null {
  const scores = Object.values(p.prediction.scores)
  let top: number | null = null
  for (const s of scores) if (top === null || s > top) top = s
  return top
}

/** R type 7 quantile of a sorted array: linear interpolation between order statistics. */
function quantile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null
  const h = (sorted.length - 1) * p
  const lo = Math.floor(h)
  if (lo + 1 >= sorted.length) return sorted[lo]!
  return sorted[lo]! + (h - lo) * (sorted[lo + 1]! - sorted[lo]!)
}

function numericStats(values: (number | null | undefined)[], edges: number[]): ExpectedNumeric {
  const present = values.filter((v): v is number => v !== null && v !== undefined)
  const nulls = values.filter((v) => v === null).length
  const histogram = edges.length ? new Array<number>(edges.length + 1).fill(0) : []
  for (const v of present) {
    // Bucket i holds [e(i-1), e(i)): count the edges at or below the value.
    if (edges.length) histogram[edges.filter((e) => v >= e).length]!++
  }
  const n = present.length
  if (n === 0) return { count: 0, nulls, min: null, max: null, mean: null, std: null, bin_edges: edges, histogram }
  const mean = present.reduce((s, v) => s + v, 0) / n
  return {
    count: n,
    nulls,
    min: present.reduce((a, b) => (b < a ? b : a)),
    max: present.reduce((a, b) => (b > a ? b : a)),
    mean,
    std: Math.sqrt(present.reduce((s, v) => s + (v - mean) * (v - mean), 0) / n),
    bin_edges: edges,
    histogram,
  }
}

function categoricalStats(values: (string | null | undefined)[], known: string[] | undefined): ExpectedCategorical {
  const counts: Record<string, number> = {}
  let nulls = 0
  for (const v of values) {
    if (v === undefined) continue
    if (v === null) nulls++
    else counts[v] = (counts[v] ?? 0) + 1
  }
  const count = Object.values(counts).reduce((a, b) => a + b, 0)
  const unseen = known ? Object.entries(counts).reduce((s, [c, k]) => s + (known.includes(c) ? 0 : k), 0) : 0
  return { count, nulls, counts, unseen }
}

interface Member {
  event: PredictionEvent
  timestamp: number
  copies: number
  label: LabelEvent | null
}

/**
 * Expected windows of one model and window size, keyed 'version|segment|size|start', for the
 * given window starts. `predictions` and `labels` are every record stored (any model, replays
 * included).
 */
export function expectedTaskWindows(
  spec: TaskModelSpec,
  predictions: StoredEvent<PredictionEvent>[],
  labels: StoredEvent<LabelEvent>[],
  sizeMs: number,
  starts: number[],
): Map<string, ExpectedTaskWindow> {
  // A record stored twice (same partition and offset: a replay) is one record.
  const distinct = <E>(records: StoredEvent<E>[], model: (e: E) => string): StoredEvent<E>[] => {
    const seen = new Map<string, StoredEvent<E>>()
    for (const r of records) if (model(r.event) === spec.modelId && !seen.has(`${r.partition}:${r.offset}`)) seen.set(`${r.partition}:${r.offset}`, r)
    return [...seen.values()]
  }
  const preds = distinct(predictions, (e) => e.model_id)
  const labs = distinct(labels, (e) => e.model_id)

  // All copies of each prediction in each window; the first by (timestamp, partition, offset) is
  // the one used there.
  const copiesById = new Map<string, StoredEvent<PredictionEvent>[]>()
  for (const r of preds) {
    const key = `${r.event.event_time - (r.event.event_time % sizeMs)}|${r.event.prediction_id}`
    copiesById.set(key, [...(copiesById.get(key) ?? []), r])
  }
  // The label with the latest label time (then the latest arrival) within the label horizon of
  // the prediction, before or after it, is the truth; the others are not counted.
  const labelsById = new Map<string, StoredEvent<LabelEvent>[]>()
  for (const r of labs) labelsById.set(r.event.prediction_id, [...(labelsById.get(r.event.prediction_id) ?? []), r])

  const members: Member[] = []
  for (const copies of copiesById.values()) {
    const first = [...copies].sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset)[0]!
    const candidates = (labelsById.get(first.event.prediction_id) ?? []).filter((l) => Math.abs(l.event.label_time - first.event.event_time) <= spec.horizonMs)
    const latest = [...candidates].sort(
      (a, b) => b.event.label_time - a.event.label_time || b.timestamp - a.timestamp || b.offset - a.offset || b.partition - a.partition,
    )[0]
    members.push({ event: first.event, timestamp: first.timestamp, copies: copies.length - 1, label: latest ? latest.event : null })
  }

  const out = new Map<string, ExpectedTaskWindow>()
  for (const start of starts) {
    // Closed at the earliest arrival of a prediction stamped in [end + lateness, end + lateness + size).
    const from = start + sizeMs + spec.latenessMs
    const closers = preds.filter((r) => r.event.event_time >= from && r.event.event_time < from + sizeMs).map((r) => r.timestamp)
    const closeTs = closers.length ? Math.min(...closers) : null

    const groups = new Map<string, Member[]>()
    for (const m of members) {
      if (m.event.event_time < start || m.event.event_time >= start + sizeMs) continue
      const segments = ['all', ...spec.segments.filter((a) => m.event.segments[a] !== undefined).map((a) => `${a}=${m.event.segments[a]}`)]
      for (const s of segments) {
        const key = `${m.event.model_version}|${s}|${sizeMs}|${start}`
        groups.set(key, [...(groups.get(key) ?? []), m])
      }
    }
    for (const [key, group] of groups) {
      const [version, segment] = key.split('|') as [string, string]
      const labeled = group.filter((m) => m.label !== null)
      const delays = labeled.map((m) => m.label!.label_time - m.event.event_time).sort((a, b) => a - b)
      const w: ExpectedTaskWindow = {
        model_version: version,
        segment,
        window_size_ms: sizeMs,
        window_start: start,
        volume: group.length,
        duplicate_count: group.reduce((s, m) => s + m.copies, 0),
        late_count: closeTs === null ? 0 : group.filter((m) => m.timestamp > closeTs).length,
        labeled_count: labeled.length,
        label_coverage: labeled.length / group.length,
        closed: closeTs !== null,
        delay_p50: quantile(delays, 0.5),
        delay_p90: quantile(delays, 0.9),
        delay_p99: quantile(delays, 0.99),
        accuracy: null,
        precision: null,
        recall: null,
        f1: null,
        log_loss: null,
        classes: [],
        confusion: [],
        mae: null,
        rmse: null,
        mape: null,
        bias: null,
        error_fourth_moment: null,
        business_value: 0,
        numeric: {},
        categorical: {},
      }
      if (spec.task === 'regression') {
        const pairs = labeled
          .filter((m) => m.event.prediction.value !== null && m.label!.label_value !== null)
          .map((m) => ({ y: m.label!.label_value!, yhat: m.event.prediction.value! }))
        if (pairs.length) {
          w.mae = pairs.reduce((s, p) => s + Math.abs(p.yhat - p.y), 0) / pairs.length
          w.rmse = Math.sqrt(pairs.reduce((s, p) => s + (p.yhat - p.y) ** 2, 0) / pairs.length)
          w.bias = pairs.reduce((s, p) => s + (p.yhat - p.y), 0) / pairs.length
          w.error_fourth_moment = pairs.reduce((s, p) => s + (p.yhat - p.y) ** 4, 0) / pairs.length
          const nonZero = pairs.filter((p) => p.y !== 0)
          w.mape = nonZero.length ? nonZero.reduce((s, p) => s + Math.abs((p.yhat - p.y) / p.y), 0) / nonZero.length : null
        }
        w.business_value = pairs.reduce((s, p) => s - spec.costs.per_unit_abs_error * Math.abs(p.yhat - p.y), 0)
      } else {
        const pairs = labeled
          .map((m) => ({ truth: m.label!.label_class, predicted: expectedPredictedClass(m.event), scores: m.event.prediction.scores }))
          .filter((p): p is { truth: string; predicted: string; scores: Record<string, number> } => p.truth !== null && p.predicted !== null)
        if (pairs.length) {
          w.classes = spec.classes
          w.confusion = spec.classes.map((t) => spec.classes.map((p) => pairs.filter((x) => x.truth === t && x.predicted === p).length))
          w.accuracy = pairs.filter((p) => p.truth === p.predicted).length / pairs.length
          // Macro averages over the classes seen as truth or as prediction (scikit-learn).
          const present = spec.classes.filter((c) => pairs.some((p) => p.truth === c || p.predicted === c))
          let precision = 0
          let recall = 0
          let f1 = 0
          for (const c of present) {
            const tp = pairs.filter((p) => p.truth === c && p.predicted === c).length
            const said = pairs.filter((p) => p.predicted === c).length
            const actual = pairs.filter((p) => p.truth === c).length
            const pc = said ? tp / said : 0
            const rc = actual ? tp / actual : 0
            precision += pc
            recall += rc
            f1 += pc + rc ? (2 * pc * rc) / (pc + rc) : 0
          }
          w.precision = precision / present.length
          w.recall = recall / present.length
          w.f1 = f1 / present.length
          const scored = pairs.filter((p) => spec.classes.every((c) => p.scores[c] !== undefined))
          w.log_loss = scored.length ? scored.reduce((s, p) => s - Math.log(Math.min(Math.max(p.scores[p.truth]!, 1e-15), 1)), 0) / scored.length : null
        }
        w.business_value = labeled.reduce(
          (s, m) => s + (expectedPredictedClass(m.event) === m.label!.label_class ? spec.costs.true_positive : spec.costs.false_positive),
          0,
        )
      }
      for (const f of spec.numeric)
        w.numeric[f] = numericStats(
          group.map((m) => m.event.numeric_features[f]),
          spec.binEdges[f] ?? [],
        )
      for (const f of spec.categorical)
        w.categorical[f] = categoricalStats(
          group.map((m) => m.event.categorical_features[f]),
          spec.known[f],
        )
      if (spec.task === 'regression')
        w.numeric[PSEUDO.predictedValue] = numericStats(
          group.map((m) => m.event.prediction.value),
          spec.binEdges[PSEUDO.predictedValue] ?? [],
        )
      else {
        w.numeric[PSEUDO.score] = numericStats(
          group.map((m) => expectedTopScore(m.event)),
          spec.binEdges[PSEUDO.score] ?? [],
        )
        w.categorical[PSEUDO.predictedClass] = categoricalStats(
          group.map((m) => expectedPredictedClass(m.event)),
          spec.known[PSEUDO.predictedClass],
        )
      }
      out.set(key, w)
    }
  }
  return out
}
