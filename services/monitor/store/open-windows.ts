import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'

/**
 * Starts of a model's windows of one size stored as open although their end plus lateness is at
 * or before `endedBy`: an event time, or 'newest prediction' (the model's newest stored event
 * time: held open by a lagging partition, or left open by a stopped instance).
 */
export async function openWindowsEndedBy(
  ch: ClickHouse,
  modelId: string,
  sizeMs: number,
  latenessMs: number,
  endedBy: number | 'newest prediction',
): Promise<number[]> {
  const cutoff =
    endedBy === 'newest prediction' ? `(SELECT max(event_time) FROM ${ch.table('predictions')} WHERE model_id = ${lit(modelId)})` : String(Math.floor(endedBy))
  const rows = await ch.query<{ window_start: number }>(
    `SELECT window_start FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = ${lit(modelId)} AND window_size_ms = ${Number(sizeMs)} AND segment = 'all' AND closed = 0
       AND window_start + ${Number(sizeMs) + Number(latenessMs)} <= ${cutoff}
     GROUP BY window_start`,
  )
  return rows.map((r) => Number(r.window_start))
}
