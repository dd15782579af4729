import { describe, expect, it } from 'vitest'
import { absentSegments } from '../../../services/monitor/core/windows/absent-segments.ts'
import { emptySummary } from '../../../services/monitor/core/windows/window-aggregate.ts'
import type { WindowKey } from '../../../services/shared/records/window-metrics.ts'

const H = 3_600_000
const key = (segment: string, start: number, version = 'v1'): WindowKey => ({
  model_id: 'm',
  model_version: version,
  segment,
  window_size_ms: H,
  window_start: start,
})
const summary = (segment: string, start: number, volume: number, version = 'v1') => ({ ...emptySummary(key(segment, start, version)), volume })

describe('segments absent from a closed window', () => {
  it('are the segments seen before it, without the ones it has, on its busiest version', () => {
    const closed = [summary('all', 10 * H, 80), summary('all', 10 * H, 20, 'v2'), summary('country=DE', 10 * H, 80)]
    const before = [key('country=DE', 9 * H), key('country=FR', 8 * H), key('all', 9 * H), key('country=PL', 11 * H)]
    expect(absentSegments(closed, before).map((s) => [s.key.segment, s.key.model_version, s.key.window_start, s.volume, s.closed])).toEqual([
      ['country=FR', 'v1', 10 * H, 0, true],
    ])
  })

  it('leave out an attribute whose values overflowed in that window, and the overflow itself', () => {
    const closed = [
      summary('all', 10 * H, 80),
      summary('country=DE', 10 * H, 60),
      summary('country=__other__', 10 * H, 20),
      summary('new_entity=yes', 10 * H, 80),
    ]
    const before = [key('country=FR', 9 * H), key('new_entity=no', 9 * H), key('channel=__other__', 9 * H)]
    expect(absentSegments(closed, before).map((s) => s.key.segment)).toEqual(['new_entity=no'])
  })

  it('give nothing without a closed rollup', () => {
    expect(absentSegments([summary('country=DE', 10 * H, 5)], [key('country=FR', 9 * H)])).toEqual([])
  })
})
