import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import { windowCloseAt } from '../core/window-lifecycle.ts'

/**
 * Starts of a model's windows of one size stored as open although their end plus lateness is at
 * or before `endedBy`: an event time, or 'newest prediction' (the model's newest stored event
 * time: held open by a lagging partition, or left open by a stopped instance). The newest
 * prediction is looked for only from the first open window's end plus lateness on: the
 * predictions are sorted by model and event time and kept for good, and reading the model's
 * whole history every few seconds grew with it.
 */
export async function openWindowsEndedBy(
  ch: ClickHouse,
  modelId: string,
  sizeMs: number,
  latenessMs: number,
  endedBy: number | 'newest prediction',
): Promise<number[]> {
  const rows = await ch.query<{ window_start: number }>(
    `SELECT window_start FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = ${lit(modelId)} AND window_size_ms = ${Number(sizeMs)} AND segment = 'all' AND closed = 0
     GROUP BY window_start`,
  )
  const open = rows.map((r) => Number(r.window_start))
  if (open.length === 0) return []
  const closeAt = (start: number): number => windowCloseAt(start, Number(sizeMs), Number(latenessMs))
  let cutoff: number
  if (endedBy !== 'newest prediction') cutoff = endedBy
  else {
    const from = Math.min(...open.map(closeAt))
    // max() of no rows is 0: nothing ended.
    const [newest] = await ch.query<{ newest: number }>(
      `SELECT max(event_time) AS newest FROM ${ch.table('predictions')} WHERE model_id = ${lit(modelId)} AND event_time >= ${from}`,
    )
    cutoff = Number(newest?.newest ?? 0)
  }
  return open.filter((start) => closeAt(start) <= cutoff)
}
