import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { EvaluationRow } from '../core/alerts/alert-reconciliation.ts'

/** The stored evaluations of a model's windows of one size in some segments, from `from` on, by window start. */
export function evaluationsSince(ch: ClickHouse, modelId: string, sizeMs: number, segments: string[], from: number): Promise<EvaluationRow[]> {
  return ch.query<EvaluationRow>(
    `SELECT segment, window_start, findings_json FROM ${ch.table('window_evaluations')} FINAL
     WHERE model_id = ${lit(modelId)} AND window_size_ms = ${Number(sizeMs)} AND segment IN (${segments.map(lit).join(', ')})
       AND window_start >= ${Number(from)}
     ORDER BY window_start`,
  )
}
