import { expect } from 'vitest'
import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import { waitFor } from './harness.ts'
import type { FeatureRecord, SummaryRecord } from '../../services/monitor/core/windows/window-rows.ts'

/** Rows as the analysts' tables hold them (the monitor's own read-back shapes). */
export type SummaryRow = SummaryRecord
export type FeatureRow = FeatureRecord

const keyOf = (r: { model_version: string; segment: string; window_size_ms: number; window_start: number }): string =>
  `${r.model_version}|${r.segment}|${r.window_size_ms}|${r.window_start}`

/** Window summaries of a model, by 'version|segment|size|start' (what analysts read: FINAL). */
export async function readWindowSummaries(ch: ClickHouse, modelId: string): Promise<Map<string, SummaryRow>> {
  const rows = await ch.query<SummaryRow>(`SELECT * FROM ${ch.table('window_summary')} FINAL WHERE model_id = ${lit(modelId)}`)
  return new Map(rows.map((r) => [keyOf(r), r]))
}

/** Feature statistics of a model, by 'version|segment|size|start|feature'. */
export async function readFeatureStats(ch: ClickHouse, modelId: string): Promise<Map<string, FeatureRow>> {
  const rows = await ch.query<FeatureRow>(`SELECT * FROM ${ch.table('window_feature_stats')} FINAL WHERE model_id = ${lit(modelId)}`)
  return new Map(rows.map((r) => [`${keyOf(r)}|${r.feature}`, r]))
}

/** Everything a run computed, without the columns that say when (for run-to-run comparison). */
export async function windowSnapshot(ch: ClickHouse, modelId: string): Promise<{ summaries: unknown[]; features: unknown[]; alerts: unknown[] }> {
  const summaries = await ch.query(
    `SELECT * FROM ${ch.table('window_summary')} FINAL WHERE model_id = ${lit(modelId)} ORDER BY window_size_ms, model_version, segment, window_start`,
  )
  const features = await ch.query(
    `SELECT * FROM ${ch.table('window_feature_stats')} FINAL WHERE model_id = ${lit(modelId)} ORDER BY window_size_ms, model_version, segment, feature, window_start`,
  )
  // An alert's row is its state as sent with its latest transition: `observed` is the value of
  // that moment, and a window re-evaluated afterwards (a late record) changes the value but sends
  // nothing, as long as status, severity and window stay. Runs compared here differ in when that
  // happens, so they are compared on the transitions only.
  const alerts = await ch.query(
    `SELECT alert_id, kind, subject, segment, severity, status, first_seen, last_seen, evidence_names FROM ${ch.table('alerts')} FINAL WHERE model_id = ${lit(modelId)} ORDER BY alert_id`,
  )
  // as_of says how far the monitor had read when it computed (unstepped: timing, not data).
  const strip = (rows: Record<string, unknown>[]): unknown[] => rows.map(({ data_version: _v, computed_at: _c, as_of: _a, ...rest }) => rest)
  return { summaries: strip(summaries as Record<string, unknown>[]), features: strip(features as Record<string, unknown>[]), alerts }
}

/** Waits for the model's hourly volume anomaly on a segment and checks it is absent traffic:
 *  firing at volume 0, first seen when the traffic stopped or later. */
export async function expectAbsentTraffic(ch: ClickHouse, modelId: string, stoppedAt: number, segment = 'all'): Promise<void> {
  const alert = await waitFor(
    async () =>
      (
        await ch.query<{ status: string; observed: number; first_seen: number }>(
          `SELECT status, observed, first_seen FROM ${ch.table('alerts')} FINAL
           WHERE model_id = ${lit(modelId)} AND kind = 'anomaly' AND subject = 'volume' AND segment = ${lit(segment)} AND window_size_ms = 3600000`,
        )
      )[0],
    { timeoutMs: 90_000, what: `a volume anomaly on ${segment}` },
  )
  expect(alert.status).toBe('firing')
  expect(alert.observed).toBe(0)
  expect(alert.first_seen).toBeGreaterThanOrEqual(stoppedAt)
}
