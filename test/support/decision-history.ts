import type { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { lit } from '../../services/shared/clickhouse/sql.ts'

/** One stored decision, without what differs between runs by nature (ids of rows, wall-clock times). */
export interface HistoryEntry {
  decided_at: number
  episode_id: string
  decision: string
  deciding_gate: string
  deciding_code: string
  trigger_alert_id: string
  trigger_last_seen: number
  request_id: string
}

export interface RequestEntry {
  request_id: string
  episode_id: string
  requested_at: number
  training_data_from: number
  training_data_to: number
}

/**
 * A model's stored decisions and retrain requests, in a stable order: what two runs of the same
 * events must agree on, however far the monitor lagged.
 */
export async function decisionHistory(ch: ClickHouse, modelId: string): Promise<{ decisions: HistoryEntry[]; requests: RequestEntry[] }> {
  const decisions = await ch.query<HistoryEntry>(
    `SELECT decided_at, episode_id, decision, deciding_gate, deciding_code, trigger_alert_id, trigger_last_seen, request_id
     FROM ${ch.table('policy_decisions')} FINAL WHERE model_id = ${lit(modelId)}
     ORDER BY decided_at, episode_id, trigger_alert_id, trigger_last_seen`,
  )
  const requests = await ch.query<RequestEntry>(
    `SELECT request_id, episode_id, requested_at, training_data_from, training_data_to
     FROM ${ch.table('retrain_requests')} FINAL WHERE model_id = ${lit(modelId)} ORDER BY request_id`,
  )
  const n = (x: unknown): number => Number(x)
  return {
    decisions: decisions.map((d) => ({ ...d, decided_at: n(d.decided_at), trigger_last_seen: n(d.trigger_last_seen) })),
    requests: requests.map((r) => ({
      ...r,
      requested_at: n(r.requested_at),
      training_data_from: n(r.training_data_from),
      training_data_to: n(r.training_data_to),
    })),
  }
}
