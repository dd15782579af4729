import { describe, expect, it } from 'vitest'
import { modelState } from '../../services/console/store/console-queries.ts'
import { freshClickHouse } from '../support/harness.ts'

const HOUR = 3_600_000
const W = Date.UTC(2026, 10, 2)

describe("the console's model list", () => {
  it("shows a model's lag as the time from its newest computed window to the monitor's last read of it", async () => {
    const { ch, drop } = await freshClickHouse()
    try {
      const model = { model_id: 'm', task: 'binary_classification' }
      const summary = (start: number, computedAt: number) => ({
        model_id: 'm',
        model_version: 'v1',
        segment: 'all',
        window_size_ms: HOUR,
        window_start: start,
        window_end: start + HOUR,
        volume: 10,
        labeled_count: 5,
        computed_at: computedAt,
        data_version: computedAt,
      })
      const read = (partition: number, at: number, group = 'driftgate-monitor') => ({
        consumer_group: group,
        topic: 'predictions',
        model_id: 'm',
        partition,
        kind: 'read_at',
        value: at,
      })
      // Nothing read yet: no lag to show.
      await ch.insert('window_summary', [summary(W, W + 2 * HOUR), summary(W + HOUR, W + 3 * HOUR)])
      expect((await modelState(ch, model, HOUR)).lag_ms).toBeNull()
      // The newest read of any partition counts, also a later one replacing an earlier.
      await ch.insert('model_partition_progress', [read(0, W + 3 * HOUR + 1_000), read(1, W + 3 * HOUR + 4_000), read(0, W + 3 * HOUR + 2_000)])
      const state = await modelState(ch, model, HOUR)
      expect([state.lag_ms, state.last_window, state.label_coverage]).toEqual([4_000, W + HOUR, 0.5])
      // Read before the newest computation: no lag.
      await ch.insert('window_summary', [summary(W + 2 * HOUR, W + 4 * HOUR)])
      expect((await modelState(ch, model, HOUR)).lag_ms).toBe(0)
    } finally {
      await drop()
    }
  })
})
