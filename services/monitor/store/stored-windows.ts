import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'

/** Event-time bounds, each optional: [from, to). */
export interface EventTimeRange {
  from?: number
  to?: number
}

/**
 * The windows of one model and size that have something stored in the range (by window start):
 * those with predictions and those closed empty by processing time (window_idle_closes).
 */
export async function storedWindowStarts(ch: ClickHouse, modelId: string, sizeMs: number, range: EventTimeRange): Promise<number[]> {
  const bounds = (column: string): string =>
    `${range.from === undefined ? '' : ` AND ${column} >= ${range.from}`}${range.to === undefined ? '' : ` AND ${column} < ${range.to}`}`
  const [withRows, closedEmpty] = await Promise.all([
    ch.query<{ start: number }>(
      `SELECT DISTINCT intDiv(event_time, ${sizeMs}) * ${sizeMs} AS start FROM ${ch.table('predictions')} WHERE model_id = ${lit(modelId)}${bounds('event_time')}`,
    ),
    ch.query<{ start: number }>(
      `SELECT DISTINCT window_start AS start FROM ${ch.table('window_idle_closes')}
       WHERE model_id = ${lit(modelId)} AND window_size_ms = ${sizeMs}${bounds('window_start')}`,
    ),
  ])
  return [...new Set([...withRows, ...closedEmpty].map((r) => Number(r.start)))].sort((a, b) => a - b)
}

/** The newest Kafka timestamp among the model's stored predictions and labels (0: none). */
export async function newestRecordTime(ch: ClickHouse, modelId: string): Promise<number> {
  const rows = await ch.query<{ newest: number }>(
    `SELECT max(newest) AS newest FROM (
       SELECT max(kafka_timestamp) AS newest FROM ${ch.table('predictions')} WHERE model_id = ${lit(modelId)}
       UNION ALL
       SELECT max(kafka_timestamp) AS newest FROM ${ch.table('labels')} WHERE model_id = ${lit(modelId)})`,
  )
  return Number(rows[0]?.newest ?? 0)
}
