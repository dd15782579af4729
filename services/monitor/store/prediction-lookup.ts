import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import { isoDate } from '../core/ingest/event-rows.ts'
import { LOOKUP_MAX_QUERY_SIZE, idSetSql, lookupChunks } from './lookup-chunks.ts'
import type { IndexedPrediction } from '../core/ingest/prediction-index.ts'

/**
 * The stored predictions of a model among `ids`, from `prediction_keys` (sorted by id), in chunks.
 * Only the weeks from `sinceMs` are read: a set of random ids matches nearly every granule of
 * every week it is tested against, so an unbounded lookup reads the keys of the whole retention.
 */
export async function findPredictions(ch: ClickHouse, modelId: string, ids: Set<string>, sinceMs: number): Promise<Map<string, IndexedPrediction>> {
  const byId = new Map<string, IndexedPrediction>()
  const since = lit(isoDate(Math.max(0, sinceMs)))
  for (const chunk of lookupChunks(ids)) {
    const found = await ch.query<{ prediction_id: string; found_model_id: string; found_version: string; found_time: number }>(
      `SELECT prediction_id, any(model_id) AS found_model_id, any(model_version) AS found_version, any(event_time) AS found_time
       FROM ${ch.table('prediction_keys')}
       WHERE model_id = ${lit(modelId)} AND event_date >= ${since} AND prediction_id IN (${idSetSql(chunk)})
       GROUP BY prediction_id`,
      { max_query_size: LOOKUP_MAX_QUERY_SIZE },
    )
    for (const f of found) byId.set(f.prediction_id, { model_id: f.found_model_id, model_version: f.found_version, event_time: f.found_time })
  }
  return byId
}
