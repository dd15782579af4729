import { describe, expect, it } from 'vitest'
import { PredictionIndex, hashId } from '../../../services/monitor/core/ingest/prediction-index.ts'
import { mulberry32 } from '../../../services/shared/stats/index.ts'
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

  it('gives what a map evicting its least recently inserted entry gives, across growth and ids added again', () => {
    // The reference: a Map in insertion order, an id added again moved to the end.
    let seed = 7
    const rand = (n: number): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n)
    for (const max of [1, 5, 1500, 5000]) {
      const index = new PredictionIndex(max)
      const reference = new Map<string, { model_id: string; model_version: string; event_time: number }>()
      let evicted = 0
      for (let i = 0; i < 12_000; i++) {
        const id = `p${rand(6000)}`
        const value = { model_id: `m${rand(3)}`, model_version: `v${rand(2)}`, event_time: 1_700_000_000_000 + i }
        index.add(0, id, value)
        reference.delete(id)
        reference.set(id, value)
        if (reference.size > max) {
          reference.delete(reference.keys().next().value as string)
          evicted++
        }
      }
      expect(index.size()).toBe(reference.size)
      expect(index.evictions()).toBe(evicted)
      for (let i = 0; i < 6000; i++) expect(index.get(0, `p${i}`)).toEqual(reference.get(`p${i}`))
    }
  })

  it('tells ids apart by their text: 250,000 ids, some sharing a hash, long, Latin-1 and wider ones', () => {
    const rand = (
      (r) => () =>
        Math.floor(r() * 2 ** 32)
    )(mulberry32(11))
    const ids = [
      ...new Set(
        Array.from({ length: 250_000 }, (_, i) =>
          i % 1000 === 0 ? `прогноз-${i}-😀-${'x'.repeat(i % 3000)}` : i % 1000 === 500 ? `café-${i}-ÿ` : `${rand().toString(36)}${rand().toString(36)}`,
        ),
      ),
    ]
    const index = new PredictionIndex(300_000)
    ids.forEach((id, i) => index.add(i % 2, id, at(i)))
    expect(index.size()).toBe(ids.length)
    expect(ids.every((id, i) => index.get(i % 2, id)?.event_time === i)).toBe(true)
    expect([index.get(0, 'absent'), index.get(1, ids[0]!), index.get(0, `${ids[2]}x`)]).toEqual([undefined, undefined, undefined])
    // Some of these ids share their 32-bit hash with another (about 7 pairs expected): each was found.
    const hashes = new Map<number, number>()
    for (const id of ids) hashes.set(hashId(id), (hashes.get(hashId(id)) ?? 0) + 1)
    expect([...hashes.values()].filter((n) => n > 1).length).toBeGreaterThan(0)
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
