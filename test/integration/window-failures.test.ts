import { describe, expect, it } from 'vitest'
import { failingWindows, recordWindowFailures, recordWindowsRecovered } from '../../services/monitor/store/window-failures.ts'
import { freshClickHouse } from '../support/harness.ts'

const HOUR = 3_600_000
const W = Date.UTC(2026, 10, 2, 10)
const ref = (model_id: string, window_start: number) => ({ model_id, window_size_ms: HOUR, window_start })

describe('windows whose computation failed (window_failures)', () => {
  it('are failing from their failure until they are recorded computed, also once the parts merge', async () => {
    const { ch, drop } = await freshClickHouse()
    try {
      const failing = async (models: string[]): Promise<string[]> =>
        (await failingWindows(ch, models)).map((r) => `${r.model_id}@${(r.window_start - W) / HOUR}`).sort()
      // An error text longer than is kept, with quotes and a newline.
      const error = `Code: 62. Syntax error: 'x'\n${'y'.repeat(5_000)}`
      await recordWindowFailures(ch, [ref('m', W), ref('m', W + HOUR), ref('other', W)], 1_000, error)
      expect(await failing(['m'])).toEqual(['m@0', 'm@1'])
      expect(await failing(['m', 'other'])).toEqual(['m@0', 'm@1', 'other@0'])
      expect(await failing([])).toEqual([])

      await recordWindowsRecovered(ch, [ref('m', W)], 2_000)
      expect(await failing(['m'])).toEqual(['m@1'])
      // Failed again later: failing again; an older failure written late does not undo a recovery.
      await recordWindowFailures(ch, [ref('m', W)], 3_000, 'again')
      await recordWindowsRecovered(ch, [ref('m', W + HOUR)], 3_000)
      await recordWindowFailures(ch, [ref('m', W + HOUR)], 2_500, 'late')
      expect(await failing(['m'])).toEqual(['m@0'])
      await ch.command(`OPTIMIZE TABLE ${ch.table('window_failures')} FINAL`)
      expect(await failing(['m'])).toEqual(['m@0'])

      const [kept] = await ch.query<{ error: string }>(
        `SELECT error FROM ${ch.table('window_failures')} FINAL WHERE model_id = 'other' AND window_start = ${W}`,
      )
      expect(kept!.error).toBe(error.slice(0, 2_000))
    } finally {
      await drop()
    }
  })
})
