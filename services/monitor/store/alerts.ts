import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { MonitorTrigger } from '../../shared/events/types.ts'
import { ALERT_COLUMNS, triggerFromRow, type AlertRecord } from '../../shared/records/alert-record.ts'
import type { PublishedAlert } from '../core/alerts/alert-reconciliation.ts'

/** The published state of a model's alerts of one window size, by alert_id. */
export async function publishedAlerts(ch: ClickHouse, modelId: string, sizeMs: number): Promise<Map<string, PublishedAlert>> {
  const rows = await ch.query<PublishedAlert>(
    `SELECT alert_id, kind, subject, segment, status, first_seen, last_seen, severity FROM ${ch.table('alerts')} FINAL WHERE model_id = ${lit(modelId)} AND window_size_ms = ${Number(sizeMs)}`,
  )
  return new Map(rows.map((r) => [r.alert_id, r]))
}

/** The published state of some of a model's alerts, as the triggers that were sent. */
export async function publishedTriggers(ch: ClickHouse, modelId: string, alertIds: string[]): Promise<MonitorTrigger[]> {
  if (alertIds.length === 0) return []
  const rows = await ch.query<AlertRecord>(
    `SELECT ${ALERT_COLUMNS.join(', ')} FROM ${ch.table('alerts')} FINAL WHERE model_id = ${lit(modelId)} AND alert_id IN (${alertIds.map(lit).join(', ')}) ORDER BY alert_id`,
  )
  return rows.map(triggerFromRow)
}
