import type { DecisionAnswerRecord, PolicyDecisionRecord } from '../../services/shared/records/policy-decision.ts'
import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'
import type { AlertRecord, RequestRecord } from '../outcome-checks.ts'

// What the main job reads and deletes in ClickHouse: the run's rows for its report and live
// lines, and the demo model's rows before a run.

/** The rows a run left in ClickHouse, as queried (64-bit numbers may come back as strings). */
export interface StoredRunRows {
  alerts: (Omit<AlertRecord, 'estimated'> & { estimated: number })[]
  episodes: { episode_id: string; change_point: number; status: string; request_id: string; alerts_json: string }[]
  decisions: (DecisionAnswerRecord & Pick<PolicyDecisionRecord, 'episode_id'>)[]
  requests: RequestRecord[]
}

export interface DecisionRow {
  episode_id: string
  decision: string
  deciding_gate: string
  deciding_code: string
  reason_gates: string[]
  reason_messages: string[]
  trigger_alert_id: string
  decided_at: number
  request_id: string
  version: number
}

/** Alert transitions of a model emitted at or after `since` (ms). */
export function alertEventsSince(ch: ClickHouse, modelId: string, since: number): Promise<{ trigger_json: string; emitted_at: number }[]> {
  return ch.query(
    `SELECT trigger_json, emitted_at FROM ${ch.table('alert_events')}
     WHERE model_id = ${lit(modelId)} AND emitted_at >= ${Number(since)} ORDER BY emitted_at, last_seen, status`,
  )
}

/** Decisions of a model stored after row version `version`. */
export function decisionsAfter(ch: ClickHouse, modelId: string, version: number): Promise<DecisionRow[]> {
  return ch.query<DecisionRow>(
    `SELECT episode_id, decision, deciding_gate, deciding_code, reason_gates, reason_messages, trigger_alert_id, decided_at, request_id, version
     FROM ${ch.table('policy_decisions')} WHERE model_id = ${lit(modelId)} AND version > ${Number(version)} ORDER BY version`,
  )
}

/** The latest state (FINAL) of the alerts, episodes, decisions and requests of a model. */
export async function readRunRows(ch: ClickHouse, modelId: string): Promise<StoredRunRows> {
  const model = lit(modelId)
  const [alerts, episodes, decisions, requests] = await Promise.all([
    ch.query<StoredRunRows['alerts'][number]>(
      `SELECT alert_id, kind, subject, segment, severity, status, first_seen, last_seen, window_size_ms, observed, expected, label_coverage, estimated, evidence_names
       FROM ${ch.table('alerts')} FINAL WHERE model_id = ${model} ORDER BY first_seen, kind, segment`,
    ),
    ch.query<StoredRunRows['episodes'][number]>(
      `SELECT episode_id, change_point, status, request_id, alerts_json FROM ${ch.table('policy_episodes')} FINAL WHERE model_id = ${model} ORDER BY change_point`,
    ),
    ch.query<StoredRunRows['decisions'][number]>(
      `SELECT decision_id, episode_id, decision, deciding_gate, deciding_code, reason_gates, reason_verdicts, reason_codes, reason_messages, trigger_alert_id, decided_at, request_id
       FROM ${ch.table('policy_decisions')} FINAL WHERE model_id = ${model} ORDER BY decided_at, version`,
    ),
    ch.query<StoredRunRows['requests'][number]>(
      `SELECT request_id, episode_id, decision_id, requested_at, training_data_from, training_data_to, status FROM ${ch.table('retrain_requests')} FINAL WHERE model_id = ${model} ORDER BY requested_at`,
    ),
  ])
  return { alerts, episodes, decisions, requests }
}

/**
 * Starts deleting a model's rows from every MergeTree table with a model_id column (found in
 * system.columns, so tables of later migrations too), and the given consumer groups' rows from
 * those with a consumer_group column. Returns the model's tables; the deletions are mutations
 * that finish later (pendingMutations).
 */
export async function deleteModelRows(ch: ClickHouse, modelId: string, groups: string[]): Promise<string[]> {
  const tablesWith = async (column: string): Promise<string[]> =>
    (
      await ch.query<{ table: string }>(
        `SELECT DISTINCT c.table AS table FROM system.columns AS c
         WHERE c.database = ${lit(ch.database)} AND c.name = ${lit(column)}
           AND c.table IN (SELECT name FROM system.tables WHERE database = ${lit(ch.database)} AND engine LIKE '%MergeTree')
         ORDER BY table`,
      )
    ).map((t) => t.table)
  const names = await tablesWith('model_id')
  for (const table of names) await ch.command(`ALTER TABLE ${ch.table(table)} DELETE WHERE model_id = ${lit(modelId)}`)
  if (groups.length > 0) {
    for (const table of await tablesWith('consumer_group'))
      await ch.command(`ALTER TABLE ${ch.table(table)} DELETE WHERE consumer_group IN (${groups.map(lit).join(', ')})`)
  }
  return names
}

export async function pendingMutations(ch: ClickHouse): Promise<number> {
  const [row] = await ch.query<{ n: number }>(`SELECT count() AS n FROM system.mutations WHERE database = ${lit(ch.database)} AND is_done = 0`)
  return Number(row?.n ?? 0)
}
