import { describe, expect, it } from 'vitest'
import { calibrationCells, calibrationModel, FEATURE_KINDS, type CellRate } from '../../support/drift-calibration.ts'

// The fast part of the drift calibration benchmark (test/bench/calibration.ts prints all of it):
// stationary windows must be flagged at most 0.1 % of the time per feature, whatever the size of
// the window and the number of categories, and the default minimum effects (0.25 sd, 10 points of
// mix) must be found in at least 90 % of windows of 10,000 predictions. Seeds are fixed, so a
// failure is a change of behaviour, not bad luck.

const cal = calibrationModel(50_000, 1)
const table = (cells: CellRate[]): string => cells.map((c) => `${c.kind} n=${c.n}: ${c.flagged}/${c.windows}`).join('\n')

describe('drift calibration', () => {
  it('stationary windows of 200, 1,000 and 10,000 predictions: at most 0.1 % flagged per feature kind', { timeout: 120_000 }, () => {
    const cells = [...calibrationCells(cal, 200, 2_000, 101), ...calibrationCells(cal, 1_000, 500, 102), ...calibrationCells(cal, 10_000, 100, 103)]
    const windows = 2_600
    for (const kind of FEATURE_KINDS) {
      const mine = cells.filter((c) => c.kind === kind)
      const flagged = mine.reduce((s, c) => s + c.flagged, 0)
      expect(flagged / windows, `${kind}\n${table(mine)}`).toBeLessThanOrEqual(0.001)
      // Within a cell too: 2,000 windows allow 2, the smaller cells none.
      for (const c of mine) expect(c.flagged / c.windows, table([c])).toBeLessThanOrEqual(0.001)
    }
  })

  it('0.25 sd of mean shift and 10 points of mix are found in at least 90 % of windows of 10,000', { timeout: 60_000 }, () => {
    const cells = calibrationCells(cal, 10_000, 60, 201, { meanShift: 0.25, mix: 0.1 })
    for (const c of cells) expect(c.flagged / c.windows, table([c])).toBeGreaterThanOrEqual(0.9)
  })

  it('power at the minimum effect grows with the window', { timeout: 60_000 }, () => {
    const rate = (n: number, windows: number): number => {
      const cells = calibrationCells(cal, n, windows, 301, { meanShift: 0.25, mix: 0.1 }).filter((c) => c.kind === 'normal' || c.kind === 'cat50')
      return cells.reduce((s, c) => s + c.flagged, 0) / (2 * windows)
    }
    const small = rate(200, 100)
    const middle = rate(1_000, 100)
    expect(small).toBeLessThan(middle)
    expect(middle).toBeLessThanOrEqual(rate(10_000, 30))
  })
})
