import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  FULL_CONFUSION_MAX_CLASSES,
  featureFromRecord,
  featureToRecord,
  summaryFromRecord,
  summaryToRecord,
} from '../../../services/monitor/core/windows/window-rows.ts'
import type { FeatureWindowStats, WindowSummary } from '../../../services/shared/records/window-metrics.ts'
import { HOUR, T0, windowKey } from '../detectors/synthetic.ts'

// A window's stored row and its detector shape map into each other without loss, and the row has
// exactly the columns the migrations give its table (plus the ones the store adds).

/** Columns of a table as the migrations leave it: its CREATE TABLE, then every ADD COLUMN. */
function migratedColumns(table: string): string[] {
  const dir = 'infra/clickhouse'
  const sql = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n')
  const create = new RegExp(`CREATE TABLE IF NOT EXISTS \\{\\{db\\}\\}\\.${table} \\(([\\s\\S]*?)\\n\\) ENGINE`).exec(sql)
  const columns = create![1]!
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0]!)
    .filter(Boolean)
  for (const m of sql.matchAll(new RegExp(`ALTER TABLE \\{\\{db\\}\\}\\.${table} ADD COLUMN (?:IF NOT EXISTS )?(\\w+)`, 'g'))) columns.push(m[1]!)
  return columns.sort()
}

const STORE_ADDS = {
  summary: ['window_end', 'window_start_time', 'data_version', 'as_of', 'computed_at'],
  feature: ['data_version', 'settings_hash', 'computed_at'],
}

const classified: WindowSummary = {
  key: windowKey(T0),
  volume: 1200,
  late_count: 3,
  duplicate_count: 1,
  labeled_count: 900,
  label_coverage: 0.75,
  label_delay_p50_ms: 1_000,
  label_delay_p90_ms: 5_000,
  label_delay_p99_ms: null,
  classification: {
    accuracy: 0.9,
    precision: 0.8,
    recall: 0.7,
    f1: 0.746,
    log_loss: 0.31,
    roc_auc: null,
    calibration_error: 0.02,
    classes: ['0', '1'],
    confusion: { cells: [0, 1, 2, 3], counts: [600, 40, 50, 210] },
  },
  regression: null,
  estimated_accuracy: 0.88,
  business_value: -120.5,
  closed: true,
}

const regressed: WindowSummary = {
  ...classified,
  key: windowKey(T0 + HOUR, { segment: 'region=eu' }),
  classification: null,
  regression: { mae: 1.5, rmse: 2.25, mape: null, bias: -0.1, error_fourth_moment: 40.5 },
  estimated_accuracy: null,
  business_value: null,
  closed: false,
}

const numeric: FeatureWindowStats = {
  key: windowKey(T0),
  feature: 'income',
  categorical: null,
  numeric: { count: 10, nulls: 2, min: 1, max: 9, mean: 4.5, std: 2.1, bin_edges: [0, 5, 10], histogram: [6, 4] },
}

const categorical: FeatureWindowStats = {
  key: windowKey(T0),
  feature: 'channel',
  numeric: null,
  categorical: { count: 12, nulls: 0, categories: ['web', 'app', '__other__'], counts: [5, 4, 3], unseen: 1, overflow_values: 2, overflow_count: 3 },
}

describe('window rows', () => {
  it('map summaries and features to their rows and back unchanged', () => {
    for (const s of [classified, regressed]) expect(summaryFromRecord(summaryToRecord(s))).toEqual(s)
    for (const f of [numeric, categorical]) expect(featureFromRecord(featureToRecord(f))).toEqual(f)
  })

  it('keep the full confusion matrix up to 100 classes, and only its non-zero cells beyond', () => {
    expect(summaryToRecord(classified).confusion).toEqual([
      [600, 40],
      [50, 210],
    ])
    const wide = (k: number): WindowSummary => ({
      ...classified,
      classification: {
        ...classified.classification!,
        classes: Array.from({ length: k }, (_, i) => `c${i}`),
        confusion: { cells: [0, k + 2], counts: [7, 3] },
      },
    })
    const full = summaryToRecord(wide(FULL_CONFUSION_MAX_CLASSES)).confusion
    expect(full).toHaveLength(FULL_CONFUSION_MAX_CLASSES)
    expect([full[0]![0], full[1]![2], full.flat().reduce((a, b) => a + b, 0)]).toEqual([7, 3, 10])
    const record = summaryToRecord(wide(FULL_CONFUSION_MAX_CLASSES + 1))
    expect([record.confusion, record.confusion_cells, record.confusion_counts]).toEqual([[], [0, FULL_CONFUSION_MAX_CLASSES + 3], [7, 3]])
    expect(summaryFromRecord(record)).toEqual(wide(FULL_CONFUSION_MAX_CLASSES + 1))
  })

  it('read a row stored before the cells were kept from its full matrix', () => {
    const { confusion_cells: _, confusion_counts: __, ...old } = summaryToRecord(classified)
    expect(summaryFromRecord({ ...old, confusion_cells: [], confusion_counts: [] })).toEqual(classified)
  })

  it('have the columns the migrations give their tables', () => {
    expect([...Object.keys(summaryToRecord(classified)), ...STORE_ADDS.summary].sort()).toEqual(migratedColumns('window_summary'))
    expect([...Object.keys(featureToRecord(numeric)), ...STORE_ADDS.feature].sort()).toEqual(migratedColumns('window_feature_stats'))
  })
})
