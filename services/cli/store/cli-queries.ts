import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'

// What the CLI's views read, as the read-only user.

type Row = Record<string, unknown>

/** A model's latest `limit` rollup windows of one size, newest first. */
export function latestWindows(ch: ClickHouse, modelId: string, sizeMs: number, limit = 8): Promise<Row[]> {
  return ch.query<Row>(
    `SELECT window_start, model_version, volume, late_count, labeled_count, round(label_coverage, 3) AS coverage,
            round(accuracy, 4) AS accuracy, round(estimated_accuracy, 4) AS est_accuracy, business_value, closed
     FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = ${lit(modelId)} AND segment = 'all' AND window_size_ms = ${Number(sizeMs)}
     ORDER BY window_start DESC LIMIT ${Number(limit)}`,
  )
}

export async function firingAlertCount(ch: ClickHouse, modelId: string): Promise<number> {
  const [row] = await ch.query<{ n: number }>(`SELECT count() AS n FROM ${ch.table('alerts')} FINAL WHERE model_id = ${lit(modelId)} AND status = 'firing'`)
  return Number(row?.n ?? 0)
}

/** Alerts, last seen first: firing only unless `all`. */
export function listAlerts(ch: ClickHouse, opts: { all?: boolean; model?: string; limit: number }): Promise<Row[]> {
  const where = [opts.all ? '1' : "status = 'firing'", opts.model ? `model_id = ${lit(opts.model)}` : '1'].join(' AND ')
  return ch.query<Row>(
    `SELECT status, severity, model_id, kind, subject, segment, first_seen, last_seen, summary
     FROM ${ch.table('alerts')} FINAL WHERE ${where} ORDER BY last_seen DESC LIMIT ${Number(opts.limit)}`,
  )
}

/** Policy decisions, newest first. */
export function listDecisions(ch: ClickHouse, opts: { model?: string; limit: number }): Promise<Row[]> {
  return ch.query<Row>(
    `SELECT decided_at, if(repeats > 1, last_decided_at, 0) AS repeated_until, repeats, model_id, decision, explanation FROM ${ch.table('policy_decisions')} FINAL
     ${opts.model ? `WHERE model_id = ${lit(opts.model)}` : ''} ORDER BY decided_at DESC LIMIT ${Number(opts.limit)}`,
  )
}

/** Retrain requests, newest first, with how each turned out once a newer version's labels matured. */
export function listRetrains(ch: ClickHouse, opts: { model?: string; limit: number }): Promise<Row[]> {
  return ch.query<Row>(
    `SELECT requested_at, model_id, request_id, evidence, r.model_version AS old_version, new_version,
            if(outcome = '', 'pending', outcome) AS outcome, round(old_accuracy, 4) AS old_accuracy, round(new_accuracy, 4) AS new_accuracy,
            if(outcome = '', '', concat('[', toString(round(difference_low, 4)), ', ', toString(round(difference_high, 4)), ']')) AS difference_95,
            round(realized_value, 2) AS realized_value, r.cost AS cost
     FROM (
       SELECT request_id, model_id, model_version, requested_at, cost, arrayStringConcat(arrayFilter(x -> startsWith(x, 'evidence:'), reasons), ',') AS evidence
       FROM ${ch.table('retrain_requests')} FINAL ${opts.model ? `WHERE model_id = ${lit(opts.model)}` : ''}
     ) AS r
     ANY LEFT JOIN (
       SELECT request_id, new_version, status AS outcome, old_accuracy, new_accuracy, difference_low, difference_high, realized_value
       FROM ${ch.table('retrain_outcomes')} FINAL
     ) AS o USING request_id
     ORDER BY requested_at DESC LIMIT ${Number(opts.limit)}`,
  )
}
