import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { AlertRow, ApprovalRow, DecisionRow, EpisodeRow, FeaturePoint, InvestigationRow, ModelState, RequestRow, WindowPoint } from '../core/rows.ts'

// What the console reads, as the read-only analyst. Every table is read with FINAL (latest
// version of each row); a window's numbers over several model versions are added up here.

const n = (v: unknown): number => Number(v)

export async function modelState(ch: ClickHouse, model: { model_id: string; task: string }, sizeMs: number): Promise<ModelState> {
  const id = lit(model.model_id)
  const [alerts] = await ch.query<{ firing: number; critical: number }>(
    `SELECT countIf(status = 'firing') AS firing, countIf(status = 'firing' AND severity = 'critical') AS critical FROM ${ch.table('alerts')} FINAL WHERE model_id = ${id}`,
  )
  const [episodes] = await ch.query<{ open: number }>(
    `SELECT countIf(status = 'open') AS open FROM ${ch.table('policy_episodes')} FINAL WHERE model_id = ${id}`,
  )
  const [last] = await ch.query<{ window_start: number; coverage: number; computed: number }>(
    `SELECT window_start, sum(labeled_count) / greatest(sum(volume), 1) AS coverage, max(computed_at) AS computed
     FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = ${id} AND segment = 'all' AND window_size_ms = ${Number(sizeMs)}
     GROUP BY window_start ORDER BY window_start DESC LIMIT 1`,
  )
  const [computed] = await ch.query<{ computed: number }>(
    `SELECT max(computed_at) AS computed FROM ${ch.table('window_summary')} WHERE model_id = ${id} AND window_size_ms = ${Number(sizeMs)}`,
  )
  // When the monitor last read a prediction of the model (model_partition_progress, a row per
  // partition): max(ingested_at) over the predictions, kept for good, grew with the model's history.
  const [read] = await ch.query<{ read_at: number; rows: number }>(
    `SELECT max(value) AS read_at, count() AS rows FROM ${ch.table('model_partition_progress')} WHERE model_id = ${id} AND kind = 'read_at'`,
  )
  const lag = read && n(read.rows) > 0 && computed ? Math.max(0, n(read.read_at) - n(computed.computed)) : null
  return {
    model_id: model.model_id,
    task: model.task,
    window_size_ms: sizeMs,
    firing: n(alerts?.firing ?? 0),
    firing_critical: n(alerts?.critical ?? 0),
    open_episodes: n(episodes?.open ?? 0),
    last_window: last ? n(last.window_start) : null,
    label_coverage: last ? n(last.coverage) : null,
    lag_ms: lag,
  }
}

/** Segment 'all' of each window, versions added up; model_version is the one with most volume. */
export async function windowSeries(ch: ClickHouse, modelId: string, sizeMs: number, limit = 1000): Promise<WindowPoint[]> {
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT window_start, argMax(model_version, volume) AS model_version, sum(volume) AS vol, sum(labeled_count) AS labeled,
            sumIf(accuracy * labeled_count, accuracy IS NOT NULL) AS acc_sum, sumIf(labeled_count, accuracy IS NOT NULL) AS acc_n,
            sumIf(mae * labeled_count, mae IS NOT NULL) AS mae_sum, sumIf(labeled_count, mae IS NOT NULL) AS mae_n,
            sumIf(estimated_accuracy * volume, estimated_accuracy IS NOT NULL) AS est_sum, sumIf(volume, estimated_accuracy IS NOT NULL) AS est_n,
            sumIf(business_value, business_value IS NOT NULL) AS value, countIf(business_value IS NOT NULL) AS value_n
     FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = ${lit(modelId)} AND segment = 'all' AND window_size_ms = ${Number(sizeMs)}
     GROUP BY window_start ORDER BY window_start DESC LIMIT ${Number(limit)}`,
  )
  return rows
    .map((r) => ({
      window_start: n(r.window_start),
      model_version: String(r.model_version),
      volume: n(r.vol),
      labeled_count: n(r.labeled),
      label_coverage: n(r.vol) > 0 ? n(r.labeled) / n(r.vol) : 0,
      accuracy: n(r.acc_n) > 0 ? n(r.acc_sum) / n(r.acc_n) : null,
      mae: n(r.mae_n) > 0 ? n(r.mae_sum) / n(r.mae_n) : null,
      estimated_accuracy: n(r.est_n) > 0 ? n(r.est_sum) / n(r.est_n) : null,
      business_value: n(r.value_n) > 0 ? n(r.value) : null,
    }))
    .reverse()
}

export async function featureSeries(ch: ClickHouse, modelId: string, sizeMs: number, from: number): Promise<FeaturePoint[]> {
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT window_start, feature, kind, count, nulls, histogram, categories, category_counts
     FROM ${ch.table('window_feature_stats')} FINAL
     WHERE model_id = ${lit(modelId)} AND segment = 'all' AND window_size_ms = ${Number(sizeMs)} AND window_start >= ${Number(from)}`,
  )
  return rows.map((r) => ({
    window_start: n(r.window_start),
    feature: String(r.feature),
    kind: String(r.kind),
    count: n(r.count),
    nulls: n(r.nulls),
    histogram: (r.histogram as unknown[]).map(n),
    categories: (r.categories as unknown[]).map(String),
    category_counts: (r.category_counts as unknown[]).map(n),
  }))
}

export async function modelAlerts(ch: ClickHouse, modelId: string, limit = 500): Promise<AlertRow[]> {
  const rows = await ch.query<AlertRow>(
    `SELECT alert_id, kind, subject, severity, status, segment, first_seen, last_seen, window_size_ms, summary
     FROM ${ch.table('alerts')} FINAL WHERE model_id = ${lit(modelId)} ORDER BY first_seen DESC LIMIT ${Number(limit)}`,
  )
  return rows.map((r) => ({ ...r, first_seen: n(r.first_seen), last_seen: n(r.last_seen), window_size_ms: n(r.window_size_ms) }))
}

const episodeRow = (r: EpisodeRow): EpisodeRow => ({ ...r, opened_at: n(r.opened_at), change_point: n(r.change_point), updated_at: n(r.updated_at) })

/** The model's episodes, newest first, each with its latest decision. */
export async function modelEpisodes(ch: ClickHouse, modelId: string): Promise<(EpisodeRow & { decision: string | null })[]> {
  const episodes = await ch.query<EpisodeRow>(
    `SELECT episode_id, model_id, model_version, status, opened_at, change_point, request_id, alerts_json, updated_at
     FROM ${ch.table('policy_episodes')} FINAL WHERE model_id = ${lit(modelId)} ORDER BY opened_at DESC LIMIT 200`,
  )
  const latest = await ch.query<{ episode_id: string; decision: string }>(
    `SELECT episode_id, argMax(decision, decided_at) AS decision FROM ${ch.table('policy_decisions')} FINAL WHERE model_id = ${lit(modelId)} GROUP BY episode_id`,
  )
  const byEpisode = new Map(latest.map((l) => [l.episode_id, l.decision]))
  return episodes.map((e) => ({ ...episodeRow(e), decision: byEpisode.get(e.episode_id) ?? null }))
}

export async function episode(ch: ClickHouse, modelId: string, episodeId: string): Promise<EpisodeRow | null> {
  const [row] = await ch.query<EpisodeRow>(
    `SELECT episode_id, model_id, model_version, status, opened_at, change_point, request_id, alerts_json, updated_at
     FROM ${ch.table('policy_episodes')} FINAL WHERE model_id = ${lit(modelId)} AND episode_id = ${lit(episodeId)}`,
  )
  return row ? episodeRow(row) : null
}

export async function episodeDecisions(ch: ClickHouse, modelId: string, episodeId: string): Promise<DecisionRow[]> {
  const rows = await ch.query<DecisionRow>(
    `SELECT decision_id, decision, deciding_gate, deciding_code, reason_gates, reason_verdicts, reason_codes, reason_messages, explanation,
            trigger_alert_id, trigger_status, awaiting_approval, request_id, decided_at, policy_version, context_json
     FROM ${ch.table('policy_decisions')} FINAL WHERE model_id = ${lit(modelId)} AND episode_id = ${lit(episodeId)} ORDER BY decided_at`,
  )
  return rows.map((r) => ({ ...r, decided_at: n(r.decided_at), awaiting_approval: n(r.awaiting_approval) }))
}

export async function episodeRequest(ch: ClickHouse, modelId: string, episodeId: string): Promise<RequestRow | null> {
  const [row] = await ch.query<RequestRow>(
    `SELECT request_id, decision_id, requested_at, training_data_from, training_data_to, cost, approved_by, status, explanation
     FROM ${ch.table('retrain_requests')} FINAL WHERE model_id = ${lit(modelId)} AND episode_id = ${lit(episodeId)} LIMIT 1`,
  )
  return row
    ? { ...row, requested_at: n(row.requested_at), training_data_from: n(row.training_data_from), training_data_to: n(row.training_data_to), cost: n(row.cost) }
    : null
}

/** Approval actions on the episode's decisions (refused calls carry the decision id they named). */
export async function episodeApprovals(ch: ClickHouse, episodeId: string, decisionIds: string[]): Promise<ApprovalRow[]> {
  const ids = decisionIds.length ? ` OR decision_id IN (${decisionIds.map(lit).join(', ')})` : ''
  const rows = await ch.query<ApprovalRow>(
    `SELECT at, decision_id, action, result, actor, comment FROM ${ch.table('policy_approvals')}
     WHERE episode_id = ${lit(episodeId)}${ids} ORDER BY at, action_id`,
  )
  return rows.map((r) => ({ ...r, at: n(r.at) }))
}

/** What investigations of the episode found, oldest first (the latest counts). */
export async function episodeInvestigations(ch: ClickHouse, modelId: string, episodeId: string): Promise<InvestigationRow[]> {
  const rows = await ch.query<InvestigationRow>(
    `SELECT at, outcome, fixed_at, actor, comment FROM ${ch.table('policy_investigations')}
     WHERE model_id = ${lit(modelId)} AND episode_id = ${lit(episodeId)} ORDER BY at`,
  )
  return rows.map((r) => ({ ...r, at: n(r.at), fixed_at: n(r.fixed_at) }))
}
