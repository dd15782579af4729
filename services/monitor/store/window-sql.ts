import { profiledFeatures } from '../core/windows/profiled-features.ts'
import type { ModelConfig } from '../../shared/config/model-config.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import { ALL_SEGMENTS, OVERFLOW_SEGMENT, PREDICTION_CLASS, PREDICTION_SCORE, PREDICTION_VALUE } from '../../shared/records/window-metrics.ts'
import { isoDate } from '../core/ingest/event-rows.ts'

// The SQL that aggregates windows inside ClickHouse (18.16 and current: no window functions, no
// CTE subqueries, one ARRAY JOIN per SELECT, an alias on every joined subquery). Every query reads the deduplicated raw rows of the
// windows being recomputed, so its result is a function of what is stored, whatever was replayed:
//   - each prediction_id counts once per window, as its first arrival in the window (smallest
//     Kafka timestamp, then partition, then offset); copies at other offsets are genuine
//     duplicates, counted, not profiled (firstArrivals). A copy sent with an event time in another
//     window counts in that window: each window is judged on its own rows, so its numbers do not
//     depend on which other windows are computed with it. A redelivered record (same partition
//     and offset) not yet merged away by the ReplacingMergeTree is collapsed with FINAL, used only
//     when the windows hold one;
//   - the latest label per prediction_id (by label time, then arrival) among those at most
//     label_horizon after the prediction (its first arrival in the window) is its truth: a label
//     after the horizon is not counted, not even as a correction of an earlier one (the monitor
//     does not recompute a window for such a label, so counting it would make the numbers depend
//     on when it was last computed). Nor is a label more than label_horizon before it, so that a
//     computation reads only the labels from its first window start minus the horizon on, not
//     every label the model ever had (labelsSince).
// Results are small (one row per window × version × segment, or per feature and bucket) and
// turned into metrics by window-aggregate.ts. Every float is summed over a sorted array, so it
// is bit for bit the same whatever parts and threads ClickHouse reads the rows in: a replayed or
// concurrently computed window stores exactly the numbers of a clean run.

/** Which tables and rows: one model, one window size, the windows' event-time spans. */
export interface WindowScope {
  predictions: string
  labels: string
  model: ModelConfig
  sizeMs: number
  /** Contiguous [from, to) event-time spans covering the windows. */
  spans: [number, number][]
  /** Data time the numbers are as of: only records stamped (Kafka timestamp) at or before it
   *  count. Absent: everything stored. */
  asOf?: number
}

/** The records a computation as of `asOf` may read (a condition to append; none when absent). */
export function asOfCondition(asOf: number | undefined): string {
  return asOf === undefined || !Number.isFinite(asOf) ? '' : ` AND kafka_timestamp <= ${asOf}`
}

/** An aggregate expression, its alias, and whether it is only a helper of other columns. */
type Column = [expr: string, alias: string, hidden?: boolean]
const HIDDEN = true

const ECE_BINS = 10
const bins = Array.from({ length: ECE_BINS }, (_, b) => b)
/** Scores are probabilities: clipped as `logLoss` clips them (shared/stats/classification.ts). */
const CLIP = 1e-15

/**
 * Mean and sum of squared deviations of a sorted array, two-pass. Sums of floats depend on the
 * order they are added in; ClickHouse's sum/avg add in whatever order its threads and the
 * table's parts give, so a replay (other parts) could differ in the last bit. Summing a sorted
 * array makes every float a function of the stored values only.
 */
function sortedMoments(sorted: string): string {
  return `if(length(${sorted}) = 0, NULL, arraySum(${sorted}) / length(${sorted})) AS mean_value,
         arraySum(arrayMap(x -> (x - ifNull(mean_value, 0)) * (x - ifNull(mean_value, 0)), ${sorted})) AS m2`
}

/** A Float64 literal (a constant for the parser, not a function call to analyse). */
function floatLiteral(x: number): string {
  const text = lit(x)
  return /[.eE]/.test(text) ? text : `${text}.0`
}

function rangeCondition(scope: WindowScope): string {
  const spans = scope.spans.map(([from, to]) => `(event_time >= ${from} AND event_time < ${to})`).join(' OR ')
  return `model_id = ${lit(scope.model.model_id)} AND (${spans})${asOfCondition(scope.asOf)}`
}

/** 'attribute=value' per configured segment attribute, '' where the row does not have it. */
function rawAttributeKeys(model: ModelConfig): string[] {
  return model.segments.map((a) => `if(has(segment_names, ${lit(a)}), concat(${lit(`${a}=`)}, segment_values[indexOf(segment_names, ${lit(a)})]), '')`)
}

/**
 * The attribute keys of a row, with a value outside its window's max_segment_values most frequent
 * ones of that attribute (by distinct predictions, ties by value: the same for every query and
 * every replay) replaced by 'attribute=__other__', so that ids sent as a segment make one
 * segment, not one per id. When no window of the scope has more values of an attribute than
 * that (`read.segmentOverflow` false, the usual case), every key is kept as it is and the ranking
 * (distinct predictions per value, a hash of every id) is not computed at all.
 */
function attributeKeys(scope: WindowScope, read: ReadMode): string {
  const { model } = scope
  if (!read.segmentOverflow) return `[${rawAttributeKeys(model).join(', ')}]`
  const top = `SELECT w, key FROM (
      SELECT ${windowOf(scope)} AS w, arrayJoin([${rawAttributeKeys(model).join(', ')}]) AS key, uniqExact(prediction_id) AS n
      FROM ${scope.predictions} WHERE ${rangeCondition(scope)}
      GROUP BY w, key HAVING key != ''
      ORDER BY n DESC, key LIMIT ${model.max_segment_values} BY w, substring(key, 1, position(key, '='))
    )`
  const keys = rawAttributeKeys(model).map(
    (key, i) => `if(${key} = '' OR (${windowOf(scope)}, ${key}) IN (${top}), ${key}, ${lit(`${model.segments[i]}=${OVERFLOW_SEGMENT}`)})`,
  )
  return `[${keys.join(', ')}]`
}

/** Segment keys of a row: the rollup plus 'attribute=value' per configured attribute it has. */
function segmentKeys(scope: WindowScope, read: ReadMode): string {
  if (scope.model.segments.length === 0) return lit([ALL_SEGMENTS])
  return `arrayConcat(${lit([ALL_SEGMENTS])}, arrayFilter(key -> key != '', ${attributeKeys(scope, read)}))`
}

/** The window of a row (its start), by event time. */
function windowOf(scope: WindowScope): string {
  return `intDiv(event_time, ${scope.sizeMs}) * ${scope.sizeMs}`
}

/**
 * The first arrival of each prediction_id in each window of the scope (its raw row), with
 * `copies` (rows at distinct offsets in that window) and the window `w`. `read.duplicates`: some
 * window holds a prediction_id at more than one offset (`windowInputsSql`); only then are they
 * looked for, on the small key columns first, and only their later copies dropped (the feature
 * arrays are never copied through an aggregate). `read.final`: the scope holds redelivered
 * records not yet merged away, which FINAL collapses; without them it is not needed, and reading
 * without it lets ClickHouse read the parts in parallel. Both are decided on the stored rows, so
 * the result is the same either way.
 */
function firstArrivals(scope: WindowScope, columns: string[], read: ReadMode, derived: string[] = []): string {
  const range = rangeCondition(scope)
  const table = `${scope.predictions} ${read.final ? 'FINAL' : ''}`
  const selected = [...columns, `${windowOf(scope)} AS w`, ...derived].join(', ')
  if (!read.duplicates) return `SELECT prediction_id, ${selected}, toUInt64(1) AS copies FROM ${table} WHERE ${range}`
  const keys = [...new Set([...columns, 'event_time', 'kafka_partition', 'kafka_offset'])].join(', ')
  return `SELECT prediction_id, ${selected}, if(dup_copies = 0, toUInt64(1), dup_copies) AS copies
    FROM (SELECT prediction_id, ${keys}, ${windowOf(scope)} AS dup_w FROM ${table} WHERE ${range}) AS stored
    ANY LEFT JOIN (
      SELECT prediction_id, ${windowOf(scope)} AS dup_w, arraySort(groupUniqArray((kafka_timestamp, kafka_partition, kafka_offset))) AS keys,
             toUInt64(length(keys)) AS dup_copies, keys[1].2 AS first_partition, keys[1].3 AS first_offset
      FROM ${scope.predictions}
      WHERE ${range} AND prediction_id IN (SELECT prediction_id FROM ${scope.predictions} WHERE ${range} GROUP BY prediction_id, ${windowOf(scope)} HAVING count() > 1)
      GROUP BY prediction_id, dup_w
    ) AS dup USING (prediction_id, dup_w)
    WHERE dup_copies <= 1 OR (kafka_partition = first_partition AND kafka_offset = first_offset)`
}

/** How the scope's predictions (see firstArrivals) and labels (see labelsSql) must be read. */
export interface ReadMode {
  final: boolean
  duplicates: boolean
  labelsWithinHorizon: boolean
  /** With labelsWithinHorizon: few enough prediction ids that the labels' key can skip granules
   *  (see labelsByKey). */
  labelsByKey: boolean
  /** Some window of the scope has more values of a segment attribute than max_segment_values
   *  (windowInputsSql's `attribute_values_<i>`): only then are values ranked (attributeKeys). */
  segmentOverflow: boolean
}

/** Labels stamped at or after `ms` (a condition to append), named by date as well, so that only
 *  the label partitions from that week on are read. */
export function labelsFrom(ms: number): string {
  const from = Math.max(0, ms)
  return ` AND label_date >= ${lit(isoDate(from))} AND label_time >= ${from}`
}

/** At most this many prediction ids: summarySql also looks their labels up by the labels' key. */
export const LABEL_INDEX_MAX_IDS = 5_000

/**
 * Whether a summary over `ids` prediction ids also names them for the labels' primary key (sorted
 * by prediction_id): a few ids among many labels skip most granules, many random ids fall in every
 * granule and the key's analysis only costs. Either way each label read is tested by the hash of
 * its id (migration 0350), which costs a third of testing the id string. With 8M labels (18.16, CPU):
 * a minute's 174 ids 71 ms with the key against 98 without it, 5,208 ids 141 against 141, a
 * day's 250,000 ids 335 ms without it (the strings alone: 913 ms without the key, 1,171 with it).
 */
export function labelsByKey(ids: number, maxIds = LABEL_INDEX_MAX_IDS): boolean {
  return ids <= maxIds
}

/**
 * Counts the model's labels later than the scope's first window start plus the horizon: when
 * there are none, every label is within the horizon of every prediction of the scope
 * (ReadMode.labelsWithinHorizon). Reads only the label times of the partitions from that day on.
 */
export function labelsPastHorizonSql(scope: WindowScope): string {
  const bound = Math.min(...scope.spans.map(([from]) => from)) + scope.model.label_horizon
  return `SELECT count() AS past FROM ${scope.labels}
    WHERE model_id = ${lit(scope.model.model_id)}${labelsFrom(bound + 1)}${asOfCondition(scope.asOf)}`
}

/**
 * Per window, the predictions a computation is about to read: the newest ingested_at and the
 * number of distinct stored records, which make the window's version (with its labels', counted
 * by summarySql from the same read as the numbers), the predictions stored twice (a redelivery
 * not merged away yet: the computation then reads with FINAL), and the distinct ids (fewer than
 * the records: some prediction_id is stored at more than one offset in the window). Run
 * before the aggregates, so a version never claims rows the aggregates did not see; rows
 * inserted in between are found by windowRowsSql after them, and the computation reads again.
 */
export function windowInputsSql(scope: WindowScope): string {
  // The keys the ranking counts (attributeKeys), so both see the same values.
  const values = rawAttributeKeys(scope.model).map((key, i) => `, uniqExactIf(${key}, ${key} != '') AS attribute_values_${i}`)
  return `SELECT ${windowOf(scope)} AS window_start, max(ingested_at) AS newest, uniqExact(prediction_id, kafka_partition, kafka_offset) AS records, count() - records AS replayed, uniqExact(prediction_id) AS ids${values.join('')}
    FROM ${scope.predictions} WHERE ${rangeCondition(scope)} GROUP BY window_start`
}

/**
 * Per window, what windowInputsSql said about its stored predictions, read again after the
 * aggregates: the newest ingested_at and the rows (distinct records when read with FINAL, which
 * a merge does not change; otherwise every row, cheaper). Rows only ever get added, so the same
 * answer before and after means the aggregates read exactly the rows the inputs describe.
 */
export function windowRowsSql(scope: WindowScope, final: boolean): string {
  const rows = final ? 'uniqExact(prediction_id, kafka_partition, kafka_offset)' : 'count()'
  return `SELECT ${windowOf(scope)} AS window_start, max(ingested_at) AS newest, ${rows} AS rows
    FROM ${scope.predictions} WHERE ${rangeCondition(scope)} GROUP BY window_start`
}

/** Per window, the distinct values of each segment attribute (by its position in the model's list). */
export type AttributeValueCounts = Record<`attribute_values_${number}`, number | undefined>

/** Whether some window of windowInputsSql's rows has more values of a segment attribute than the
 *  model keeps as segments (ReadMode.segmentOverflow). */
export function segmentOverflow(model: ModelConfig, inputs: AttributeValueCounts[]): boolean {
  return inputs.some((row) => model.segments.some((_, i) => Number(row[`attribute_values_${i}`] ?? 0) > model.max_segment_values))
}

/** The prediction columns the summary of a model's task reads (the others are not read at all). */
function predictionColumns(model: ModelConfig): string[] {
  const task =
    model.task === 'regression'
      ? ['predicted_value']
      : model.task === 'binary_classification'
        ? ['score', 'predicted_class']
        : ['predicted_class', 'class_names', 'class_scores']
  return ['event_time', 'model_version', 'kafka_timestamp', ...task, 'segment_names', 'segment_values']
}

/**
 * One row per window × model version × segment with every summary number that needs the rows:
 * volume, late, duplicates, label coverage and delays, and the performance sums and arrays.
 * `closeTimes`: per window start, the Kafka timestamp it closed at (absent: open, nothing late).
 */
export function summarySql(scope: WindowScope, closeTimes: Map<number, number>, read: ReadMode): string {
  const { model } = scope
  const starts = [...closeTimes.keys()]
  const close = starts.length
    ? `transform(w, [${starts.map((s) => `toUInt64(${s})`).join(', ')}], [${starts.map((s) => `toUInt64(${closeTimes.get(s)!})`).join(', ')}], toUInt64(18446744073709551615))`
    : 'toUInt64(18446744073709551615)'
  const performance = performanceColumns(model)
  const columns: Column[] = [
    ['count()', 'volume'],
    [`countIf(kafka_timestamp > ${close})`, 'late_count'],
    ['sum(copies - 1)', 'duplicate_count'],
    ['countIf(labeled)', 'labeled_count'],
    // The labels this read saw (those within the horizon: the others change no number), for the
    // window's version: the newest ingested_at and the number of distinct label records.
    ['maxIf(label_ingested, labeled)', 'label_newest'],
    ['sumIf(label_records, labeled)', 'label_records'],
    // Label delays of the labeled rows, sorted, for exact quantiles (R type 7).
    ['arraySort(groupArrayIf(toFloat64(toInt64(label_time) - toInt64(event_time)), labeled))', 'delays', HIDDEN],
    ...quantileColumns('delays', [
      ['delay_p50', 0.5],
      ['delay_p90', 0.9],
      ['delay_p99', 0.99],
    ]),
    ...performance.aggregates,
  ]
  return `SELECT w AS window_start, model_version, segment, ${inlineHidden(columns).join(',\n    ')}
  FROM (
    SELECT *, arrayJoin(${segmentKeys(scope, read)}) AS segment,
           has_label AND toInt64(label_time) >= toInt64(event_time) - ${model.label_horizon} AS labeled,
           ${performance.rowColumns.join(',\n           ')}
    FROM (${firstArrivals(scope, predictionColumns(model), read)}) AS arrivals
    ANY LEFT JOIN (${labelsSql(scope, read)}) AS truth USING ${read.labelsWithinHorizon ? 'prediction_id' : '(prediction_id, w)'}
  )
  GROUP BY window_start, model_version, segment`
}

/**
 * Labels from the scope's first window start minus the horizon on: an earlier label is more than
 * the horizon before every prediction of the scope, so a computation's label read does not grow
 * with the model's whole history of labels.
 */
function labelsSince(scope: WindowScope): string {
  return labelsFrom(Math.min(...scope.spans.map(([from]) => from)) - scope.model.label_horizon)
}

/**
 * The truth of each labeled prediction of the scope: its latest label within the horizon, with
 * the newest ingested_at and the number of distinct records of those labels (for the version).
 * `read.labelsWithinHorizon`: no label of the model is later than the scope's first window start
 * plus the horizon, so every label of a prediction is within the horizon of any of its copies:
 * labels are then taken per prediction_id, read only for the ids of the scope (a set, not a join
 * with the predictions: an hour's summary takes less than half the ClickHouse CPU, a day's about
 * the same). A latest label more than the horizon before the prediction is dropped by
 * summarySql (the earlier ones are earlier still); the version's label records may then count
 * such an earlier label when a later one is within the horizon, which only makes a computation
 * with an earlier first window read again. Otherwise the horizon
 * runs from each window's first arrival, and labels are joined per (prediction_id, window).
 */
function labelsSql(scope: WindowScope, read: ReadMode): string {
  const { model } = scope
  const latest = `argMax((label_class, label_value, label_time), (label_time, kafka_timestamp, kafka_offset, kafka_partition)) AS latest,
               max(ingested_at) AS label_ingested, uniqExact(kafka_partition, kafka_offset) AS label_records`
  const truth = 'latest.1 AS label_class, latest.2 AS label_value, latest.3 AS label_time, toUInt8(1) AS has_label, label_ingested, label_records'
  // Each label is tested by the hash of its id first (a label whose hash matches but whose id does
  // not finds no prediction in the joins); with few ids, the ids also let the key skip granules.
  const of = `FROM ${scope.predictions} WHERE ${rangeCondition(scope)}`
  const hashed = `PREWHERE prediction_hash IN (SELECT cityHash64(prediction_id) ${of})`
  if (read.labelsWithinHorizon) {
    const byKey = read.labelsByKey ? ` AND prediction_id IN (SELECT prediction_id ${of})` : ''
    return `SELECT prediction_id, ${truth}
      FROM (
        SELECT prediction_id, ${latest}
        FROM ${scope.labels} ${hashed}
        WHERE model_id = ${lit(model.model_id)}${byKey}${labelsSince(scope)}${asOfCondition(scope.asOf)}
        GROUP BY prediction_id
      )`
  }
  // The horizon runs from the first arrival in the window: its event time, looked for only when
  // some prediction_id is stored at more than one offset in a window (copies at the same offset
  // are redeliveries, with the same event time).
  const predictionTimes = read.duplicates
    ? `SELECT prediction_id, ${windowOf(scope)} AS w, argMin(event_time, (kafka_timestamp, kafka_partition, kafka_offset)) AS prediction_time
          ${of} GROUP BY prediction_id, w`
    : `SELECT prediction_id, ${windowOf(scope)} AS w, event_time AS prediction_time ${of}`
  return `SELECT prediction_id, w, ${truth}
      FROM (
        SELECT prediction_id, w, ${latest}
        FROM ${scope.labels}
        ALL INNER JOIN (${predictionTimes}) AS times USING prediction_id ${hashed}
        WHERE model_id = ${lit(model.model_id)} AND abs(toInt64(label_time) - toInt64(prediction_time)) <= ${model.label_horizon}${labelsSince(scope)}${asOfCondition(scope.asOf)}
        GROUP BY prediction_id, w
      )`
}

/**
 * `expr AS alias` for the visible columns, with each hidden helper written out where it is used
 * instead of being selected (helpers can hold a row per prediction; ClickHouse computes an
 * expression that occurs several times once).
 */
function inlineHidden(columns: Column[]): string[] {
  const hidden: [RegExp, string][] = []
  const out: string[] = []
  for (const [expr, alias, isHidden] of columns) {
    const text = hidden.reduce((t, [pattern, body]) => t.replace(pattern, body), expr)
    if (isHidden) hidden.push([new RegExp(`\\b${alias}\\b`, 'g'), `(${text})`])
    else out.push(`${text} AS ${alias}`)
  }
  return out
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

/**
 * Per-row helper columns (computed once per row, before the aggregates, so the aggregate
 * expressions stay short) and the aggregates of the model's task.
 */
function performanceColumns(model: ModelConfig): { rowColumns: string[]; aggregates: Column[] } {
  if (model.task === 'regression') {
    return {
      rowColumns: [
        'labeled AND isNotNull(label_value) AND isNotNull(predicted_value) AS reg',
        'assumeNotNull(predicted_value) - assumeNotNull(label_value) AS err',
        'ifNull(label_value != 0, 0) AS nonzero_truth',
      ],
      aggregates: [
        ['countIf(reg)', 'reg_n'],
        ['arraySort(groupArrayIf(err, reg))', 'errors', HIDDEN],
        ['arraySum(arrayMap(x -> abs(x), errors))', 'reg_abs'],
        ['arraySum(arrayMap(x -> x * x, errors))', 'reg_sq'],
        ['arraySum(errors)', 'reg_bias'],
        ['arraySum(arrayMap(x -> x * x * x * x, errors))', 'reg_quad'],
        ['arraySum(arraySort(groupArrayIf(abs(err / assumeNotNull(label_value)), reg AND nonzero_truth)))', 'reg_pct'],
        ['countIf(reg AND nonzero_truth)', 'reg_pct_n'],
      ],
    }
  }
  const classes = model.classes ?? []
  const rowColumns = [
    // Labeled rows with a true and a predicted class; classes outside the configured list are
    // skipped by the confusion matrix (index 0), as countConfusion skips them.
    'labeled AND isNotNull(label_class) AND isNotNull(predicted_class) AS classified',
    `indexOf(${lit(classes)}, ifNull(label_class, '')) AS truth_index`,
    `indexOf(${lit(classes)}, ifNull(predicted_class, '')) AS said_index`,
  ]
  // The confusion matrix's non-empty cells (truth × classes + said, from 0) and their counts: a
  // countIf per cell made the query grow with the classes squared (100 classes passed 18.16's
  // and today's max_query_size, so no window of the model could be computed).
  const aggregates: Column[] = [
    ['countIf(classified)', 'cls_n'],
    [
      `sumMapIf([toUInt32((truth_index - 1) * ${classes.length} + said_index - 1)], [toUInt64(1)], classified AND truth_index > 0 AND said_index > 0)`,
      'confusion_map',
      HIDDEN,
    ],
    ['confusion_map.1', 'confusion_cells'],
    ['confusion_map.2', 'confusion_counts'],
  ]
  if (model.task === 'binary_classification') {
    const pos = lit(model.positive_class!)
    rowColumns.push(
      'classified AND isNotNull(score) AS scored',
      `toUInt8(ifNull(label_class = ${pos}, 0)) AS positive`,
      `toUInt8(ifNull(predicted_class = ${pos}, 0)) AS said_positive`,
      'ifNull(score, 0) AS score_value',
      'least(greatest(score_value, 0), 1) AS clipped',
      `least(${ECE_BINS - 1}, toUInt32(floor(clipped * ${ECE_BINS}))) AS ece_bin`,
      `-log(least(greatest(if(positive = 1, score_value, 1 - score_value), ${CLIP}), 1 - ${CLIP})) AS loss`,
    )
    aggregates.push(
      ['countIf(scored)', 'scored_n'],
      ['arraySum(arraySort(groupArrayIf(loss, scored)))', 'log_loss_sum'],
      // ROC AUC as Mann–Whitney U with ties counting one half: sorted by score with negatives
      // first among ties, the negatives up to a positive are those below it plus those tied with
      // it; with positives first, only those below. U is the mean of the two sums.
      ['arraySort(groupArrayIf((score_value, positive), scored))', 'auc_pairs', HIDDEN],
      ['arraySum(arrayMap((x, n) -> x.2 * n, auc_pairs, arrayCumSum(arrayMap(x -> 1 - x.2, auc_pairs))))', 'auc_u_with_ties'],
      ['arraySort(x -> (x.1, 1 - x.2), auc_pairs)', 'auc_pairs_positive_first', HIDDEN],
      ['arraySum(arrayMap((x, n) -> x.2 * n, auc_pairs_positive_first, arrayCumSum(arrayMap(x -> 1 - x.2, auc_pairs_positive_first))))', 'auc_u_below'],
      ['countIf(scored AND positive = 1)', 'auc_positives'],
      // Calibration bins: counts per bin, and each bin's sum of clipped scores over its slice of
      // the sorted scores (a score's bin rises with it, so a bin is one contiguous slice).
      [`[${bins.map((b) => `countIf(scored AND ece_bin = ${b})`).join(', ')}]`, 'ece_counts'],
      [
        'arrayMap((n, from) -> arraySum(arraySlice(arrayMap(x -> least(greatest(x.1, 0), 1), auc_pairs), from + 1, n)), ece_counts, arrayCumSum(arrayPushFront(arrayPopBack(ece_counts), toUInt64(0))))',
        'ece_sums',
      ],
      [`[${bins.map((b) => `countIf(scored AND ece_bin = ${b} AND positive = 1)`).join(', ')}]`, 'ece_hits'],
      // Business value counts: every labeled row, a missing class counting as negative.
      ['countIf(labeled AND positive = 1 AND said_positive = 1)', 'value_tp'],
      ['countIf(labeled AND positive = 0 AND said_positive = 1)', 'value_fp'],
      ['countIf(labeled AND positive = 1 AND said_positive = 0)', 'value_fn'],
      ['countIf(labeled AND positive = 0 AND said_positive = 0)', 'value_tn'],
      // CBPE: expected confusion from the (clipped) scores of every scored row, split by the class
      // the model predicted (the producer's own, or the score against decision_threshold at
      // ingestion): a model deciding at another threshold than 0.5 is estimated as it decides.
      ['countIf(isNotNull(score))', 'cbpe_n'],
      ['arraySort(groupArrayIf(clipped, isNotNull(score) AND said_positive = 1))', 'cbpe_said_positive', HIDDEN],
      ['arraySort(groupArrayIf(clipped, isNotNull(score) AND said_positive = 0))', 'cbpe_said_negative', HIDDEN],
      ['arraySum(cbpe_said_positive)', 'cbpe_tp'],
      ['arraySum(arrayMap(x -> 1 - x, cbpe_said_positive))', 'cbpe_fp'],
      ['arraySum(cbpe_said_negative)', 'cbpe_fn'],
      ['arraySum(arrayMap(x -> 1 - x, cbpe_said_negative))', 'cbpe_tn'],
    )
  } else {
    rowColumns.push(
      `classified AND arrayAll(k -> has(class_names, k), ${lit(classes)}) AND truth_index > 0 AS scored`,
      `-log(least(greatest(class_scores[indexOf(class_names, ifNull(label_class, ''))], ${CLIP}), 1)) AS loss`,
    )
    aggregates.push(
      ['countIf(scored)', 'scored_n'],
      ['arraySum(arraySort(groupArrayIf(loss, scored)))', 'log_loss_sum'],
      ['countIf(labeled AND (ifNull(label_class = predicted_class, 0) OR (isNull(label_class) AND isNull(predicted_class))))', 'value_right'],
    )
  }
  return { rowColumns, aggregates }
}

/** What a feature query reads from the scope's first arrivals: the columns it names (its own
 *  feature arrays and prediction column, besides the window and segment columns every one needs)
 *  and the derived values, with the feature names and values to ARRAY JOIN. */
function featureInputs(scope: WindowScope, read: ReadMode, own: string[], names: string, values: string): { columns: string[]; derived: string[] } {
  const { model } = scope
  return {
    columns: ['event_time', 'model_version', ...own, 'segment_names', 'segment_values'],
    derived: [`${model.segments.length ? attributeKeys(scope, read) : 'CAST([] AS Array(String))'} AS attributes`, `${names} AS names`, `${values} AS vals`],
  }
}

/**
 * The histogram bucket of a value on its feature's reference bins: the number of edges ≤ value
 * (bucket i holds values in [e(i−1), e(i))). Written as a sum of comparisons, one per edge
 * position, each against a constant array indexed by the feature, padded with +inf where a
 * feature has fewer edges (values are finite: the codec rejects the others). A lambda over a
 * per-feature array of edges did the same with a copy of that array per value, and made the
 * numeric statistics half again as expensive.
 */
function bucketExpr(numeric: string[], binEdges: Map<string, number[]>, value: string, featureIndex: string): string {
  const edges = numeric.map((f) => binEdges.get(f) ?? [])
  const width = Math.max(0, ...edges.map((e) => e.length))
  if (width === 0) return '0'
  const terms = Array.from(
    { length: width },
    (_, c) => `(${value} >= [${edges.map((e) => (c < e.length ? floatLiteral(e[c]!) : 'inf')).join(', ')}][${featureIndex}])`,
  )
  return terms.join(' + ')
}

/** The position (from 1) of the row's feature `fname` in `names`, 0 when not among them: a
 *  lookup in a constant map, which costs less per value than indexOf's scan of the names. */
function featurePosition(names: string[]): string {
  if (names.length === 0) return 'toUInt32(0)'
  return `transform(fname, ${lit(names)}, CAST(${lit(names.map((_, i) => i + 1))} AS Array(UInt32)), toUInt32(0))`
}

/**
 * Numeric feature statistics per window × version × segment attributes × feature × histogram
 * bucket of the reference bins: count, nulls, min, max, mean and the sum of squared deviations,
 * merged over buckets into the feature's moments (window-aggregate.ts). The prediction is
 * profiled as a pseudo-feature (its score, or its value for a regression).
 * Rows are grouped by all of a prediction's configured segment attributes at once
 * (`segment_keys`, '' for an attribute it lacks), not once per segment: the rollup and each
 * 'attribute=value' segment are merged from these groups in window-aggregate.ts, which reads
 * every feature value once instead of once per segment it belongs to.
 * A row that does not carry a feature does not count for it (a NULL value does: as a null).
 */
export function numericFeaturesSql(scope: WindowScope, binEdges: Map<string, number[]>, read: ReadMode): string {
  const { model } = scope
  const { numeric } = profiledFeatures(model)
  const regression = model.task === 'regression'
  const { columns, derived } = featureInputs(
    scope,
    read,
    ['numeric_names', 'numeric_values', regression ? 'predicted_value' : 'score'],
    `arrayConcat(numeric_names, ${lit([regression ? PREDICTION_VALUE : PREDICTION_SCORE])})`,
    `arrayConcat(numeric_values, [${regression ? 'predicted_value' : 'score'}])`,
  )
  // Grouped by the feature's position in the model's list (a number hashes faster than a name).
  return `SELECT w AS window_start, model_version, attributes AS segment_keys, ${lit(numeric)}[feature_index] AS feature, toUInt8(0) AS kind,
         if(isNull(fnum), 0, ${bucketExpr(numeric, binEdges, 'assumeNotNull(fnum)', 'feature_index')}) AS bucket, CAST(NULL AS Nullable(String)) AS category,
         count() AS n_rows, count(fnum) AS n_values, min(fnum) AS min_value, max(fnum) AS max_value,
         ${sortedMoments('arraySort(groupArray(fnum))')}
  FROM (${firstArrivals(scope, columns, read, derived)})
  ARRAY JOIN names AS fname, vals AS fnum
  WHERE (${featurePosition(numeric)} AS feature_index) > 0
  GROUP BY window_start, model_version, segment_keys, feature_index, bucket`
}

/**
 * Categorical feature statistics per window × version × segment attributes × feature × value
 * (NULL: missing): its count. The predicted class is profiled as a pseudo-feature. Grouped by
 * segment attributes as numericFeaturesSql is.
 */
export function categoricalFeaturesSql(scope: WindowScope, read: ReadMode): string {
  const { model } = scope
  const { categorical } = profiledFeatures(model)
  const regression = model.task === 'regression'
  const { columns, derived } = featureInputs(
    scope,
    read,
    regression ? ['categorical_names', 'categorical_values'] : ['categorical_names', 'categorical_values', 'predicted_class'],
    regression ? 'categorical_names' : `arrayConcat(categorical_names, ${lit([PREDICTION_CLASS])})`,
    regression ? 'categorical_values' : 'arrayConcat(categorical_values, [predicted_class])',
  )
  return `SELECT w AS window_start, model_version, attributes AS segment_keys, ${lit(categorical)}[feature_index] AS feature, toUInt8(1) AS kind, toUInt8(0) AS bucket, fstr AS category,
         count() AS n_rows, count(fstr) AS n_values, CAST(NULL AS Nullable(Float64)) AS min_value, CAST(NULL AS Nullable(Float64)) AS max_value,
         CAST(NULL AS Nullable(Float64)) AS mean_value, CAST(NULL AS Nullable(Float64)) AS m2
  FROM (${firstArrivals(scope, columns, read, derived)})
  ARRAY JOIN names AS fname, vals AS fstr
  WHERE (${featurePosition(categorical)} AS feature_index) > 0
  GROUP BY window_start, model_version, segment_keys, feature_index, category`
}
