import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'

/** Starts of a model's windows of one size stored as open although its newest prediction is past
 *  their close time (held open by a lagging partition, or left open by a stopped instance). */
export async function openWindowsPastClose(ch: ClickHouse, modelId: string, sizeMs: number, latenessMs: number): Promise<number[]> {
  const rows = await ch.query<{ window_start: number }>(
    `SELECT window_start FROM ${ch.table('window_summary')} FINAL
     WHERE model_id = ${lit(modelId)} AND window_size_ms = ${Number(sizeMs)} AND segment = 'all' AND closed = 0
       AND window_start + ${Number(sizeMs) + Number(latenessMs)} <= (SELECT max(event_time) FROM ${ch.table('predictions')} WHERE model_id = ${lit(modelId)})
     GROUP BY window_start`,
  )
  return rows.map((r) => Number(r.window_start))
}
