import type { ModelConfig } from '../../shared/config/model-config.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import { ALL_SEGMENTS, PREDICTION_CLASS, PREDICTION_SCORE, PREDICTION_VALUE } from '../../shared/model/window-metrics.ts'

// The SQL that aggregates windows inside ClickHouse (18.16 and current: no window functions, no
// CTE subqueries, one ARRAY JOIN per SELECT). Every query reads the deduplicated raw rows of the
// windows being recomputed, so its result is a function of what is stored, whatever was replayed:
//   - FINAL collapses redelivered records (same partition and offset);
//   - GROUP BY prediction_id keeps the first arrival (smallest Kafka timestamp, then partition,
//     then offset) and counts the copies, as genuine duplicates are counted, not profiled;
//   - the latest label per prediction_id (by label time, then arrival) is its truth.
// Results are small (one row per window × version × segment, or per feature and bucket) and
// turned into metrics by window-aggregate.ts.

/** Which tables and rows: one model, one window size, the windows' event-time spans. */
export interface WindowScope {
  predictions: string
  labels: string
  model: ModelConfig
  sizeMs: number
  /** Contiguous [from, to) event-time spans covering the windows. */
  spans: [number, number][]
}

/** An aggregate expression, its alias, and whether it is only a helper of other columns. */
type Column = [expr: string, alias: string, hidden?: boolean]
const HIDDEN = true

export const ECE_BINS = 10
/** Scores are probabilities: clipped as `logLoss` clips them (shared/stats/classification.ts). */
const CLIP = 1e-15

function rangeCondition(scope: WindowScope): string {
  const spans = scope.spans.map(([from, to]) => `(event_time >= ${from} AND event_time < ${to})`).join(' OR ')
  return `model_id = ${lit(scope.model.model_id)} AND (${spans})`
}

/** Segment keys of a row: the rollup plus 'attribute=value' per configured attribute it has. */
function segmentKeys(model: ModelConfig): string {
  if (model.segments.length === 0) return lit([ALL_SEGMENTS])
  const keys = model.segments.map((a) => `if(has(segment_names, ${lit(a)}), concat(${lit(`${a}=`)}, segment_values[indexOf(segment_names, ${lit(a)})]), '')`)
  return `arrayConcat(${lit([ALL_SEGMENTS])}, arrayFilter(s -> s != '', [${keys.join(', ')}]))`
}

/**
 * First arrival per prediction_id in the scope, with the given columns, plus `copies` (rows at
 * distinct offsets) and `p_ingested` (newest ingested_at among them). The chosen row's columns
 * travel as one tuple so that a NULL in it is kept (aggregates skip NULL arguments).
 */
function firstArrivals(scope: WindowScope, columns: string[]): string {
  return `SELECT prediction_id, ${columns.map((c, i) => `first.${i + 1} AS ${c}`).join(', ')}, copies, p_ingested
    FROM (
      SELECT prediction_id,
             argMin((${columns.join(', ')}), (kafka_timestamp, kafka_partition, kafka_offset)) AS first,
             count() AS copies,
             max(ingested_at) AS p_ingested
      FROM ${scope.predictions} FINAL
      WHERE ${rangeCondition(scope)}
      GROUP BY prediction_id
    )`
}

const PREDICTION_COLUMNS = ['event_time', 'model_version', 'kafka_timestamp', 'score', 'predicted_class', 'predicted_value', 'class_names', 'class_scores', 'segment_names', 'segment_values']

/**
 * One row per window × model version × segment with every summary number that needs the rows:
 * volume, late, duplicates, label coverage and delays, and the performance sums and arrays.
 * `closeTimes`: per window start, the Kafka timestamp it closed at (absent: open, nothing late).
 */
export function summarySql(scope: WindowScope, closeTimes: Map<number, number>): string {
  const { model, sizeMs } = scope
  const starts = [...closeTimes.keys()]
  const close = starts.length ? `transform(w, [${starts.map((s) => `toUInt64(${s})`).join(', ')}], [${starts.map((s) => `toUInt64(${closeTimes.get(s)!})`).join(', ')}], toUInt64(18446744073709551615))` : 'toUInt64(18446744073709551615)'
  const columns: Column[] = [
    ['count()', 'volume'],
    [`countIf(kafka_timestamp > ${close})`, 'late_count'],
    ['sum(copies - 1)', 'duplicate_count'],
    ['countIf(labeled)', 'labeled_count'],
    ['max(greatest(p_ingested, l_ingested))', 'newest_ingested'],
    ['sum(copies + label_rows)', 'rows_read'],
    // Label delays of the labeled rows, sorted, for exact quantiles (R type 7).
    ['arraySort(groupArrayIf(toFloat64(toInt64(label_time) - toInt64(event_time)), labeled))', 'delays', HIDDEN],
    ...quantileColumns('delays', [
      ['delay_p50', 0.5],
      ['delay_p90', 0.9],
      ['delay_p99', 0.99],
    ]),
    ...performanceColumns(model),
  ]
  // The outer SELECT leaves out the helper arrays (they can hold a row per prediction).
  return `SELECT window_start, model_version, segment, ${columns.filter((c) => !c[2]).map((c) => c[1]).join(', ')}
  FROM (
  SELECT w AS window_start, model_version, segment, ${columns.map(([expr, alias]) => `${expr} AS ${alias}`).join(',\n    ')}
  FROM (
    SELECT *, intDiv(event_time, ${sizeMs}) * ${sizeMs} AS w, arrayJoin(${segmentKeys(model)}) AS segment,
           has_label AND toInt64(label_time) - toInt64(event_time) <= ${model.label_horizon} AS labeled
    FROM (${firstArrivals(scope, PREDICTION_COLUMNS)})
    ANY LEFT JOIN (
      SELECT prediction_id, latest.1 AS label_class, latest.2 AS label_value, latest.3 AS label_time,
             toUInt8(1) AS has_label, label_rows, l_ingested
      FROM (
        SELECT prediction_id,
               argMax((label_class, label_value, label_time), (label_time, kafka_timestamp, kafka_offset, kafka_partition)) AS latest,
               count() AS label_rows,
               max(ingested_at) AS l_ingested
        FROM ${scope.labels} FINAL
        WHERE model_id = ${lit(model.model_id)} AND prediction_id IN (SELECT prediction_id FROM ${scope.predictions} WHERE ${rangeCondition(scope)})
        GROUP BY prediction_id
      )
    ) USING prediction_id
  )
  GROUP BY window_start, model_version, segment
  )`
}

/** Linear interpolation between order statistics of a sorted array (R type 7, numpy's default). */
function quantileColumns(sorted: string, levels: [string, number][]): Column[] {
  return levels.map(([alias, p]) => {
    const h = `((length(${sorted}) - 1) * ${p})`
    const lo = `toUInt64(floor(${h}))`
    const hi = `toUInt64(least(floor(${h}) + 1, toFloat64(length(${sorted}) - 1)))`
    return [`if(length(${sorted}) = 0, NULL, ${sorted}[${lo} + 1] + (${h} - floor(${h})) * (${sorted}[${hi} + 1] - ${sorted}[${lo} + 1]))`, alias]
  })
}

function performanceColumns(model: ModelConfig): Column[] {
  if (model.task === 'regression') {
    const r = 'labeled AND isNotNull(label_value) AND isNotNull(predicted_value)'
    const e = '(assumeNotNull(predicted_value) - assumeNotNull(label_value))'
    return [
      [`countIf(${r})`, 'reg_n'],
      [`sumIf(abs(${e}), ${r})`, 'reg_abs'],
      [`sumIf(${e} * ${e}, ${r})`, 'reg_sq'],
      [`sumIf(${e}, ${r})`, 'reg_bias'],
      [`sumIf(abs(${e} / assumeNotNull(label_value)), ${r} AND label_value != 0)`, 'reg_pct'],
      [`countIf(${r} AND label_value != 0)`, 'reg_pct_n'],
    ]
  }
  const classes = model.classes ?? []
  // Labeled rows with a true and a predicted class (confusionMatrix skips classes not listed).
  const c = 'labeled AND isNotNull(label_class) AND isNotNull(predicted_class)'
  const cell = (t: string, p: string): string => `countIf(${c} AND ifNull(label_class = ${lit(t)}, 0) AND ifNull(predicted_class = ${lit(p)}, 0))`
  const matrix = `[${classes.map((t) => `[${classes.map((p) => cell(t, p)).join(', ')}]`).join(', ')}]`
  const out: Column[] = [
    [`countIf(${c})`, 'cls_n'],
    [matrix, 'confusion'],
  ]
  if (model.task === 'binary_classification') {
    const pos = lit(model.positive_class!)
    const cs = `${c} AND isNotNull(score)`
    const isPos = `toUInt8(ifNull(label_class = ${pos}, 0))`
    const s = 'assumeNotNull(score)'
    const clipped = `least(greatest(${s}, 0), 1)`
    const bin = `least(${ECE_BINS - 1}, toUInt32(floor(${clipped} * ${ECE_BINS})))`
    const bins = Array.from({ length: ECE_BINS }, (_, b) => b)
    const said = `ifNull(predicted_class = ${pos}, 0)`
    out.push(
      [`countIf(${cs})`, 'scored_n'],
      [`sumIf(-log(least(greatest(if(${isPos} = 1, ${s}, 1 - ${s}), ${CLIP}), 1 - ${CLIP})), ${cs})`, 'log_loss_sum'],
      // ROC AUC as Mann–Whitney U with ties counting one half: sorted by score with negatives
      // first among ties, the negatives up to a positive are those below it plus those tied with
      // it; with positives first, only those below. U is the mean of the two sums.
      [`arraySort(groupArrayIf((${s}, ${isPos}), ${cs}))`, 'auc_pairs', HIDDEN],
      [`arraySum(arrayMap((x, n) -> x.2 * n, auc_pairs, arrayCumSum(arrayMap(x -> 1 - x.2, auc_pairs))))`, 'auc_u_with_ties'],
      [`arraySort(x -> (x.1, 1 - x.2), auc_pairs)`, 'auc_pairs_positive_first', HIDDEN],
      [`arraySum(arrayMap((x, n) -> x.2 * n, auc_pairs_positive_first, arrayCumSum(arrayMap(x -> 1 - x.2, auc_pairs_positive_first))))`, 'auc_u_below'],
      [`countIf(${cs} AND ${isPos} = 1)`, 'auc_positives'],
      [`[${bins.map((b) => `countIf(${cs} AND ${bin} = ${b})`).join(', ')}]`, 'ece_counts'],
      [`[${bins.map((b) => `sumIf(${clipped}, ${cs} AND ${bin} = ${b})`).join(', ')}]`, 'ece_sums'],
      [`[${bins.map((b) => `countIf(${cs} AND ${bin} = ${b} AND ${isPos} = 1)`).join(', ')}]`, 'ece_hits'],
      // Business value counts: every labeled row, a missing class counting as negative.
      [`countIf(labeled AND ${isPos} = 1 AND ${said})`, 'value_tp'],
      [`countIf(labeled AND ${isPos} = 0 AND ${said})`, 'value_fp'],
      [`countIf(labeled AND ${isPos} = 1 AND NOT ${said})`, 'value_fn'],
      [`countIf(labeled AND ${isPos} = 0 AND NOT ${said})`, 'value_tn'],
      // CBPE: expected confusion from the (clipped) scores of every scored row.
      [`countIf(isNotNull(score))`, 'cbpe_n'],
      [`sumIf(${clipped}, isNotNull(score) AND ${s} >= 0.5)`, 'cbpe_tp'],
      [`sumIf(1 - ${clipped}, isNotNull(score) AND ${s} >= 0.5)`, 'cbpe_fp'],
      [`sumIf(${clipped}, isNotNull(score) AND ${s} < 0.5)`, 'cbpe_fn'],
      [`sumIf(1 - ${clipped}, isNotNull(score) AND ${s} < 0.5)`, 'cbpe_tn'],
    )
  } else {
    const cls = lit(classes)
    const scored = `${c} AND arrayAll(k -> has(class_names, k), ${cls}) AND has(${cls}, assumeNotNull(label_class))`
    out.push(
      [`countIf(${scored})`, 'scored_n'],
      [`sumIf(-log(least(greatest(class_scores[indexOf(class_names, assumeNotNull(label_class))], ${CLIP}), 1)), ${scored})`, 'log_loss_sum'],
      [`countIf(labeled AND (ifNull(label_class = predicted_class, 0) OR (isNull(label_class) AND isNull(predicted_class))))`, 'value_right'],
    )
  }
  return out
}

/** The model's numeric features and the profiled prediction number, as SQL array expressions. */
function numericArrays(model: ModelConfig): { names: string; values: string; features: string[] } {
  const pseudo = model.task === 'regression' ? [PREDICTION_VALUE, 'predicted_value'] : [PREDICTION_SCORE, 'score']
  return { names: `arrayConcat(numeric_names, ${lit([pseudo[0]!])})`, values: `arrayConcat(numeric_values, [${pseudo[1]}])`, features: [...model.features.numeric, pseudo[0]!] }
}

/**
 * Numeric features per window × version × segment × feature × histogram bucket: count, nulls,
 * min, max, mean and the sum of squared deviations (merged over buckets into the feature's
 * moments). Buckets are the reference bins: bucket i holds values in [e(i−1), e(i)).
 */
export function numericFeaturesSql(scope: WindowScope, binEdges: Map<string, number[]>): string {
  const { model, sizeMs } = scope
  const { names, values, features } = numericArrays(model)
  const branches = features.filter((f) => (binEdges.get(f) ?? []).length > 0).map((f) => `fname = ${lit(f)}, arrayCount(e -> assumeNotNull(fval) >= e, ${lit(binEdges.get(f)!)})`)
  const bucket = branches.length ? `if(isNull(fval), 0, multiIf(${branches.join(', ')}, 0))` : '0'
  return `SELECT w AS window_start, model_version, segment, fname AS feature, ${bucket} AS bucket,
         count(fval) AS count, countIf(isNull(fval)) AS nulls, min(fval) AS min, max(fval) AS max,
         avg(fval) AS mean, varPop(fval) * count(fval) AS m2
  FROM (
    SELECT intDiv(event_time, ${sizeMs}) * ${sizeMs} AS w, model_version, arrayJoin(${segmentKeys(model)}) AS segment,
           ${names} AS names, ${values} AS vals
    FROM (${firstArrivals(scope, ['event_time', 'model_version', 'score', 'predicted_value', 'numeric_names', 'numeric_values', 'segment_names', 'segment_values'])})
  )
  ARRAY JOIN names AS fname, vals AS fval
  WHERE fname IN (${features.map(lit).join(', ')})
  GROUP BY window_start, model_version, segment, feature, bucket`
}

/** Categorical features (and the predicted class) per window × version × segment × value. */
export function categoricalFeaturesSql(scope: WindowScope): string {
  const { model, sizeMs } = scope
  const features = model.task === 'regression' ? [...model.features.categorical] : [...model.features.categorical, PREDICTION_CLASS]
  if (features.length === 0) return ''
  const pseudo = model.task === 'regression'
  return `SELECT w AS window_start, model_version, segment, cname AS feature, cval AS value, count() AS count
  FROM (
    SELECT intDiv(event_time, ${sizeMs}) * ${sizeMs} AS w, model_version, arrayJoin(${segmentKeys(model)}) AS segment,
           ${pseudo ? 'categorical_names' : `arrayConcat(categorical_names, ${lit([PREDICTION_CLASS])})`} AS names,
           ${pseudo ? 'categorical_values' : 'arrayConcat(categorical_values, [predicted_class])'} AS vals
    FROM (${firstArrivals(scope, ['event_time', 'model_version', 'predicted_class', 'categorical_names', 'categorical_values', 'segment_names', 'segment_values'])})
  )
  ARRAY JOIN names AS cname, vals AS cval
  WHERE cname IN (${features.map(lit).join(', ')})
  GROUP BY window_start, model_version, segment, feature, value`
}
