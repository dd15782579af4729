// The `policy_episodes` table row (infra/clickhouse/0300_policy.sql): written by the policy
// service for every change of an episode, read back by it on start and by the console.

/** A `policy_episodes` row as ClickHouse returns it (without its version column). */
export interface EpisodeRecord {
  episode_id: string
  model_id: string
  model_version: string
  status: string
  opened_at: number
  change_point: number
  /** Empty until a retrain was requested. */
  request_id: string
  /** The latest state per alert_id, as JSON. */
  alerts_json: string
  updated_at: number
}
