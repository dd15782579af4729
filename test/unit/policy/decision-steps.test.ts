import { describe, expect, it } from 'vitest'
import { StepGate, stepEnd, triggerDataTime } from '../../../services/policy/core/decision-steps.ts'
import { CP, H, trigger } from './fixtures.ts'

describe('decision steps', () => {
  it('a data time belongs to the step it falls in; a time on the grid ends its step', () => {
    expect(stepEnd(CP + 1, H)).toBe(CP + H)
    expect(stepEnd(CP + H - 1, H)).toBe(CP + H)
    expect(stepEnd(CP + H, H)).toBe(CP + H)
    expect(stepEnd(CP + H + 1, H)).toBe(CP + 2 * H)
  })

  it("a trigger's data time is the monitor's stamp, or its latest window's end when it has none", () => {
    expect(triggerDataTime(trigger({ last_seen: CP, data_time: CP + 5 * H }))).toBe(CP + 5 * H)
    expect(triggerDataTime(trigger({ last_seen: CP, data_time: 0 }))).toBe(CP + H)
  })

  it('a step is due once the monitor passed it and the triggers published until then were read', () => {
    const gate = new StepGate()
    const ends = (n: bigint): Map<number, bigint> => new Map([[0, n]])
    // The monitor has not finished the step yet: not due, whatever was read, and no ends needed.
    expect(gate.needsEnds(0, [CP + H], CP + H - 1)).toBe(false)
    gate.observe(0, [CP + H], CP + H - 1, ends(10n))
    expect(gate.due(0, CP + H, 100n)).toBe(false)
    // It has: due once offset 12 (the end when that was seen) is consumed.
    expect(gate.needsEnds(0, [CP + H], CP + H)).toBe(true)
    gate.observe(0, [CP + H], CP + H, ends(12n))
    expect(gate.needsEnds(0, [CP + H], CP + H)).toBe(false)
    expect(gate.due(0, CP + H, 11n)).toBe(false)
    // Later ends do not move the requirement: the triggers published after the mark passed the
    // step belong to later steps.
    gate.observe(0, [CP + H], CP + 3 * H, ends(40n))
    expect(gate.due(0, CP + H, 12n)).toBe(true)
    gate.forget(0, CP + H)
    expect(gate.due(0, CP + H, 100n)).toBe(false)
  })
})
