import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { reconcileAlerts, withdrawals, type EvaluationRow, type PublishedAlert } from '../../../services/monitor/core/alerts/alert-reconciliation.ts'
import { hygieneFor } from '../../../services/monitor/core/detectors/detector-config.ts'
import { buildRuntimeModel } from '../../../services/monitor/core/runtime-model.ts'
import type { MonitorTrigger } from '../../../services/shared/events/types.ts'
import { HOUR, T0, driftFinding, modelConfig } from '../detectors/synthetic.ts'

// Reconciliation alone, on plain rows: what the detection runner publishes given the stored
// evaluations and the published state (default hygiene: fire after 2 of 3, resolve after 3 clean).

const model = buildRuntimeModel(modelConfig(), null)
const hygiene = (kind: Parameters<typeof hygieneFor>[1]) => hygieneFor(model.detectors, kind)
const driftId = createHash('sha256')
  .update(JSON.stringify(['churn', 'drift', 'features', 'all', HOUR, T0]))
  .digest('hex')
  .slice(0, 32)

/** Hourly windows 0..n-1 of segment `all`; those in `withDrift` hold a drift finding, the others none. */
const rows = (n: number, withDrift: number[]): EvaluationRow[] =>
  Array.from({ length: n }, (_, i) => ({
    segment: 'all',
    window_start: T0 + i * HOUR,
    findings_json: JSON.stringify(withDrift.includes(i) ? [driftFinding(T0 + i * HOUR)] : []),
  }))

const state = (t: MonitorTrigger): PublishedAlert => ({
  alert_id: t.alert_id,
  kind: t.kind,
  subject: t.subject,
  segment: t.segment,
  status: t.status,
  first_seen: t.first_seen,
  last_seen: t.last_seen,
  severity: t.severity,
})

describe('alert reconciliation', () => {
  it('announces a new episode with its firing and its latest state, then nothing while nothing changes', () => {
    const { changed, withdrawn } = reconcileAlerts(rows(4, [0, 1, 2]), new Map(), hygiene, T0)
    expect(changed.map((t) => [t.alert_id, t.status, t.first_seen, t.last_seen])).toEqual([
      [driftId, 'firing', T0, T0 + HOUR],
      [driftId, 'firing', T0, T0 + 2 * HOUR],
    ])
    expect(withdrawn).toEqual([])
    const published = new Map([[driftId, state(changed[1]!)]])
    expect(reconcileAlerts(rows(4, [0, 1, 2]), published, hygiene, T0)).toEqual({ changed: [], withdrawn: [] })
  })

  it('resolves after three clean windows, once', () => {
    const fired = reconcileAlerts(rows(3, [0, 1, 2]), new Map(), hygiene, T0).changed.at(-1)!
    const { changed } = reconcileAlerts(rows(6, [0, 1, 2]), new Map([[driftId, state(fired)]]), hygiene, T0)
    expect(changed.map((t) => [t.status, t.last_seen])).toEqual([['resolved', T0 + 2 * HOUR]])
    expect(reconcileAlerts(rows(6, [0, 1, 2]), new Map([[driftId, state(changed[0]!)]]), hygiene, T0).changed).toEqual([])
  })

  it('withdraws a firing alert whose windows no longer give it, with the published last window', () => {
    const fired = reconcileAlerts(rows(3, [0, 1, 2]), new Map(), hygiene, T0).changed.at(-1)!
    const published = new Map([[driftId, state(fired)]])
    const { changed, withdrawn } = reconcileAlerts(rows(3, []), published, hygiene, T0)
    expect([changed, withdrawn]).toEqual([[], [driftId]])
    const [resolution] = withdrawals([fired], published)
    expect(resolution).toEqual({ ...fired, status: 'resolved', summary: resolution!.summary })
    expect(resolution!.summary).toMatch(/withdrawn, re-evaluation of its windows no longer finds it/)
    // Once published, the resolution is not sent again.
    expect(withdrawals([fired], new Map([[driftId, state(resolution!)]]))).toEqual([])
  })

  it('withdraws instead of sending an older state when the latest findings were taken back', () => {
    const fired = reconcileAlerts(rows(4, [0, 1, 2, 3]), new Map(), hygiene, T0).changed.at(-1)!
    expect(fired.last_seen).toBe(T0 + 3 * HOUR)
    // Windows 2 and 3 lose their findings and 4-6 are clean: the fold resolves at window 1, which
    // the published state (window 3) outranks.
    const { changed, withdrawn } = reconcileAlerts(rows(7, [0, 1]), new Map([[driftId, state(fired)]]), hygiene, T0)
    expect([changed, withdrawn]).toEqual([[], [driftId]])
  })

  it('leaves alone a firing alert that started before the folded range', () => {
    const fired = reconcileAlerts(rows(3, [0, 1, 2]), new Map(), hygiene, T0).changed.at(-1)!
    expect(reconcileAlerts(rows(3, []), new Map([[driftId, state(fired)]]), hygiene, T0 + HOUR)).toEqual({ changed: [], withdrawn: [] })
  })

  it('keeps the id of a firing alert whose first windows were taken back while later ones still find it', () => {
    const fired = reconcileAlerts(rows(3, [0, 1, 2]), new Map(), hygiene, T0).changed.at(-1)!
    // Window 0 is clean after late labels, windows 1 to 3 still find drift: the fold starts the
    // episode at window 1, which would be another id.
    const { changed, withdrawn } = reconcileAlerts(rows(4, [1, 2, 3]), new Map([[driftId, state(fired)]]), hygiene, T0)
    expect(withdrawn).toEqual([])
    expect(changed.map((t) => [t.alert_id, t.status, t.first_seen, t.last_seen])).toEqual([[driftId, 'firing', T0 + HOUR, T0 + 3 * HOUR]])
  })

  it('a withdrawn alert whose windows find it again fires again under its own id', () => {
    const fired = reconcileAlerts(rows(3, [0, 1, 2]), new Map(), hygiene, T0).changed.at(-1)!
    const [withdrawnState] = withdrawals([fired], new Map([[driftId, state(fired)]]))
    // Later labels give the findings back from window 1 on, and window 3 finds it too.
    const { changed, withdrawn } = reconcileAlerts(rows(4, [1, 2, 3]), new Map([[driftId, state(withdrawnState!)]]), hygiene, T0)
    expect(withdrawn).toEqual([])
    expect(changed.map((t) => [t.alert_id, t.status, t.last_seen])).toEqual([[driftId, 'firing', T0 + 3 * HOUR]])
  })

  it('a new episode after a resolution is a new alert', () => {
    const first = reconcileAlerts(rows(6, [0, 1, 2]), new Map(), hygiene, T0).changed.at(-1)!
    expect(first.status).toBe('resolved')
    const { changed } = reconcileAlerts(rows(9, [0, 1, 2, 6, 7, 8]), new Map([[driftId, state(first)]]), hygiene, T0)
    const ids = new Set(changed.map((t) => t.alert_id))
    expect(ids.size).toBe(1)
    expect(ids.has(driftId)).toBe(false)
    expect(changed.map((t) => [t.status, t.first_seen])).toEqual([
      ['firing', T0 + 6 * HOUR],
      ['firing', T0 + 6 * HOUR],
    ])
  })
})
