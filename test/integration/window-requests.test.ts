import { describe, expect, it } from 'vitest'
import { WindowStore } from '../../services/monitor/store/window-store.ts'
import { freshClickHouse } from '../support/harness.ts'

const HOUR = 3_600_000
const W = Date.UTC(2026, 10, 2, 10)
const ref = (model_id: string, window_start: number) => ({ model_id, window_size_ms: HOUR, window_start })

describe('windows left to their owner (window_requests)', () => {
  it('are asked for until a judged computation begins in a later second than the request', async () => {
    const { ch, drop } = await freshClickHouse()
    try {
      const store = new WindowStore(ch)
      const now = await store.serverSecond()
      const pending = async (models: string[]): Promise<string[]> =>
        (await store.requestedWindows(models, 3_600)).map((r) => `${r.ref.model_id}@${(r.ref.window_start - W) / HOUR}${r.urgent ? '!' : ''}`).sort()

      await store.requestWindows(
        [
          { ref: ref('m', W), urgent: false, closeCheck: false },
          { ref: ref('m', W + HOUR), urgent: true, closeCheck: false },
          { ref: ref('other', W), urgent: false, closeCheck: false },
        ],
        now - 2,
      )
      expect(await pending(['m'])).toEqual(['m@0', 'm@1!'])
      expect(await pending(['m', 'other'])).toEqual(['m@0', 'm@1!', 'other@0'])

      // A computation that began in the request's second may not have read its rows; one a second
      // later did.
      await store.recordJudged('m', HOUR, [W], now - 2)
      await store.recordJudged('m', HOUR, [W + HOUR], now - 1)
      expect(await pending(['m'])).toEqual(['m@0'])
      await store.recordJudged('m', HOUR, [W], now - 1)
      expect(await pending(['m'])).toEqual([])

      // Asked again after that computation: pending again, urgent if any request was.
      await store.requestWindows([{ ref: ref('m', W), urgent: false, closeCheck: false }], now)
      await store.requestWindows([{ ref: ref('m', W), urgent: true, closeCheck: false }], now)
      expect(await pending(['m'])).toEqual(['m@0!'])
      // Close-only while every request of the window only asked for its close.
      const closeOnly = async (): Promise<string[]> =>
        (await store.requestedWindows(['c'], 3_600)).map((r) => `${(r.ref.window_start - W) / HOUR}${r.closeCheck ? ' close' : ''}`).sort()
      await store.requestWindows([{ ref: ref('c', W), urgent: true, closeCheck: true }], now)
      await store.requestWindows([{ ref: ref('c', W + HOUR), urgent: false, closeCheck: false }], now - 1)
      await store.requestWindows([{ ref: ref('c', W + HOUR), urgent: true, closeCheck: true }], now)
      expect(await closeOnly()).toEqual(['0 close', '1'])
      // A later close-only request does not replace the earlier one for records of the window
      // when the table's parts are merged.
      await ch.command(`OPTIMIZE TABLE ${ch.table('window_requests')} FINAL`)
      expect(await closeOnly()).toEqual(['0 close', '1'])
      // Requests older than the lookback are not read.
      expect((await store.requestedWindows(['other'], 3_600)).length).toBe(1)
      await store.requestWindows([{ ref: ref('old', W), urgent: false, closeCheck: false }], now - 7_200)
      expect(await store.requestedWindows(['old'], 3_600)).toEqual([])
    } finally {
      await drop()
    }
  })
})
