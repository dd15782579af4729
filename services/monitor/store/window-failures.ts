import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { WindowRef } from '../core/windows/window-math.ts'

/** How much of an error's text is kept with a failing window. */
const MAX_ERROR_CHARS = 2_000

/** Records that these windows failed at `at` (infra/clickhouse/0360_window_failures.sql). */
export async function recordWindowFailures(ch: ClickHouse, refs: readonly WindowRef[], at: number, error: string): Promise<void> {
  if (refs.length === 0) return
  const text = error.slice(0, MAX_ERROR_CHARS)
  await ch.insert(
    'window_failures',
    refs.map((r) => ({ model_id: r.model_id, window_size_ms: r.window_size_ms, window_start: r.window_start, at, failing: 1, error: text })),
  )
}

/** Records that these failing windows were computed at `at`. */
export async function recordWindowsRecovered(ch: ClickHouse, refs: readonly WindowRef[], at: number): Promise<void> {
  if (refs.length === 0) return
  await ch.insert(
    'window_failures',
    refs.map((r) => ({ model_id: r.model_id, window_size_ms: r.window_size_ms, window_start: r.window_start, at, failing: 0, error: '' })),
  )
}

/** The windows of these models whose latest computation failed. */
export async function failingWindows(ch: ClickHouse, modelIds: readonly string[]): Promise<WindowRef[]> {
  if (modelIds.length === 0) return []
  const rows = await ch.query<{ model_id: string; window_size_ms: number; window_start: number }>(
    `SELECT model_id, window_size_ms, window_start FROM ${ch.table('window_failures')}
     WHERE model_id IN (${modelIds.map(lit).join(', ')})
     GROUP BY model_id, window_size_ms, window_start
     HAVING argMax(failing, at) = 1`,
  )
  return rows.map((r) => ({ model_id: r.model_id, window_size_ms: Number(r.window_size_ms), window_start: Number(r.window_start) }))
}
