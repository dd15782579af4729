import { describe, expect, it } from 'vitest'
import { PredictionIndex } from '../../../services/monitor/core/ingest/prediction-index.ts'
import { DirtyWindows, groupWindows, windowStart } from '../../../services/monitor/core/windows/window-math.ts'

const at = (event_time: number) => ({ model_id: 'm', model_version: 'v', event_time })

describe('prediction index', () => {
  it('keeps at most N predictions per partition, evicting the oldest first', () => {
    const index = new PredictionIndex(3)
    for (let i = 0; i < 5; i++) index.add(0, `p${i}`, at(i))
    index.add(1, 'q', at(9))
    expect(['p0', 'p1', 'p2', 'p3', 'p4'].map((id) => index.get(0, id)?.event_time ?? null)).toEqual([null, null, 2, 3, 4])
    expect(index.size()).toBe(4)
    expect(index.evictions()).toBe(2)
  })

  it('drops a revoked partition whole and leaves the others', () => {
    const index = new PredictionIndex(10)
    index.add(0, 'a', at(1))
    index.add(1, 'b', at(2))
    index.dropPartition(0)
    expect(index.get(0, 'a')).toBeUndefined()
    expect(index.get(1, 'b')).toEqual(at(2))
  })
})

describe('windows', () => {
  it('aligns tumbling windows to the epoch, negative times included', () => {
    expect(windowStart(3_599_999, 3_600_000)).toBe(0)
    expect(windowStart(3_600_000, 3_600_000)).toBe(3_600_000)
    expect(windowStart(-1, 3_600_000)).toBe(-3_600_000)
  })

  it('collects dirty windows once each, grouped by model and size, sorted', () => {
    const dirty = new DirtyWindows()
    dirty.mark('m', [60_000, 3_600_000], 3_700_000)
    dirty.mark('m', [60_000, 3_600_000], 3_650_000)
    dirty.mark('m', [60_000, 3_600_000], 3_720_000)
    const groups = groupWindows(dirty.drain().map((e) => e.ref))
    expect(groups.get('m|60000')!.map((r) => r.window_start)).toEqual([3_600_000, 3_660_000, 3_720_000])
    expect(groups.get('m|3600000')!.map((r) => r.window_start)).toEqual([3_600_000])
    expect(dirty.drain()).toHaveLength(0)
  })
})
