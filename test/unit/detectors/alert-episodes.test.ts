import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  combineVersions,
  decodeEvaluation,
  encodeEvaluation,
  exportEpisodeState,
  foldEpisodes,
  importEpisodeState,
  initialEpisodeState,
  resume,
  sequenceFor,
  type EpisodeTransition,
  type EpisodeWindow,
} from '../../../services/monitor/core/alerts/alert-episodes.ts'
import { alertId, type AlertIdentity } from '../../../services/monitor/core/alerts/alert-id.ts'
import { hygieneFor, type HygieneRule } from '../../../services/monitor/core/detectors/detector-config.ts'
import type { Finding } from '../../../services/monitor/core/detectors/finding.ts'
import type { Severity } from '../../../services/shared/events/types.ts'
import { HOUR, T0, detectorConfig, prng, windowKey } from './synthetic.ts'

const identity: AlertIdentity = { model_id: 'churn', kind: 'drift', subject: 'features', segment: 'all', window_size_ms: HOUR }
const rule: HygieneRule = { n: 2, m: 3, k: 3, mute: [] }

function finding(start: number, severity: Severity = 'warning', observed = 0.3): Finding {
  return {
    key: windowKey(start),
    kind: 'drift',
    subject: 'features',
    severity,
    measure: 'psi',
    observed,
    expected: 0,
    threshold: 0.2,
    evidence: [{ name: 'x1', score: observed / 0.2, detail: `psi ${observed}` }],
    label_coverage: null,
    estimated: false,
    summary: `drift in 1 of 3 features vs reference: x1 (psi ${observed})`,
    runbook: 'compare',
    evidence_query: 'SELECT 1',
  }
}

/** Windows from a pattern: 'x' a window with a finding, '.' a clean one, '?' one not judged, one hour apart from T0. */
function windows(pattern: string, from = T0): EpisodeWindow[] {
  return [...pattern].map((c, i) => {
    const w: EpisodeWindow = { window_start: from + i * HOUR, finding: c === 'x' ? finding(from + i * HOUR) : null }
    return c === '?' ? { ...w, not_judged: true } : w
  })
}

const fold = (ws: EpisodeWindow[], r: HygieneRule = rule) => foldEpisodes(initialEpisodeState(identity), ws, r)
const statuses = (ts: EpisodeTransition[]): string[] => ts.map((t) => `${t.status}@${(t.window_start - T0) / HOUR}`)

describe('alert episodes', () => {
  it('fires once after n of m, keeps one id for the episode and resolves once after k clean windows', () => {
    const { transitions, state } = fold(windows('.x.xxx...x'))
    expect(statuses(transitions)).toEqual(['firing@3', 'updated@4', 'updated@5', 'resolved@8'])
    const ids = new Set(transitions.map((t) => t.alert_id))
    expect(ids.size).toBe(1)
    // The episode starts at its first window with a finding inside the n-of-m span (window 1).
    const expected = createHash('sha256')
      .update(JSON.stringify(['churn', 'drift', 'features', 'all', HOUR, T0 + HOUR]))
      .digest('hex')
      .slice(0, 32)
    expect([...ids][0]).toBe(expected)
    expect(transitions[0]!.first_seen).toBe(T0 + HOUR)
    // last_seen is the start of the latest window with a finding (window 5), as the MonitorTrigger contract says.
    expect(transitions[2]!.last_seen).toBe(T0 + 5 * HOUR)
    expect(transitions[3]).toMatchObject({ status: 'resolved', clean_windows: 3, windows_with_finding: 4, last_seen: T0 + 5 * HOUR })
    // The lone finding after the resolution starts no new episode by itself.
    expect(state.open).toBeNull()
  })

  it('a later episode of the same problem gets a new id', () => {
    const { transitions } = fold(windows('xx...xx'))
    expect(statuses(transitions)).toEqual(['firing@1', 'resolved@4', 'firing@6'])
    expect(transitions[2]!.alert_id).toBe(alertId(identity, T0 + 5 * HOUR))
    expect(transitions[2]!.alert_id).not.toBe(transitions[0]!.alert_id)
  })

  it('does not flap: alternating windows below n-of-m never fire, alternating windows inside an episode never resolve', () => {
    expect(fold(windows('x.x.x.x.x.x.x.x.x.x.'), { ...rule, n: 3, m: 4 }).transitions).toEqual([])
    const { transitions } = fold(windows('xx.x.x.x.x.x.x.x'))
    expect(transitions.filter((t) => t.status !== 'updated').map((t) => t.status)).toEqual(['firing'])
  })

  it('mute windows suppress firing for the muted kinds only, and neither resolve nor split an episode', () => {
    const mute = [{ from: T0 + 2 * HOUR, to: T0 + 6 * HOUR }]
    expect(fold(windows('..xxxx..'), { ...rule, mute }).transitions).toEqual([])
    expect(statuses(fold(windows('..xxxx..'), { ...rule, mute: [{ ...mute[0]!, kinds: ['anomaly'] }] }).transitions)).toEqual([
      'firing@3',
      'updated@4',
      'updated@5',
    ])
    // Firing before the mute, clean during it, still one open episode after it.
    const { transitions, state } = fold(windows('xx....x'), { ...rule, mute })
    expect(statuses(transitions)).toEqual(['firing@1', 'updated@6'])
    expect(state.open?.alert_id).toBe(transitions[0]!.alert_id)
  })

  it('resume from the exported state equals the full fold at every split point', () => {
    const rand = prng(42)
    const seq: EpisodeWindow[] = []
    let p = 0.1
    for (let i = 0; i < 300; i++) {
      if (i % 40 === 0) p = rand() < 0.5 ? 0.1 : 0.8
      const hit = rand() < p
      seq.push({ window_start: T0 + i * HOUR, finding: hit ? finding(T0 + i * HOUR, rand() < 0.3 ? 'critical' : 'warning', 0.2 + rand()) : null })
    }
    const r: HygieneRule = { n: 3, m: 5, k: 4, mute: [{ from: T0 + 100 * HOUR, to: T0 + 110 * HOUR }] }
    const full = fold(seq, r)
    expect(full.transitions.filter((t) => t.status === 'firing').length).toBeGreaterThan(2)
    for (let split = 0; split <= seq.length; split++) {
      const head = fold(seq.slice(0, split), r)
      const restored = importEpisodeState(exportEpisodeState(head.state))
      const tail = resume(restored, seq.slice(split), r)
      expect([...head.transitions, ...tail.transitions]).toEqual(full.transitions)
      expect(tail.state).toEqual(full.state)
    }
  })

  it('windows already folded are ignored when delivered again', () => {
    const seq = windows('.xx..x.xxx....')
    const full = fold(seq)
    const head = fold(seq.slice(0, 8))
    const again = resume(head.state, seq.slice(3), rule)
    expect([...head.transitions, ...again.transitions]).toEqual(full.transitions)
    expect(again.state).toEqual(full.state)
  })

  it('windows that could not be judged neither extend an episode nor count towards its resolution', () => {
    // Fires at window 1; windows 2, 3, 5 and 6 were not judged; the clean windows 4, 7 and 8 are
    // the three (k) that resolve it, at window 8. Counting the unjudged ones as clean would have
    // resolved it at window 3.
    const { transitions, state } = fold(windows('xx??.??..x'))
    expect(statuses(transitions)).toEqual(['firing@1', 'resolved@8'])
    expect(transitions[1]).toMatchObject({ clean_windows: 3, windows_with_finding: 2, first_seen: T0, last_seen: T0 + HOUR, window_end: T0 + 9 * HOUR })
    expect(state.last_window_start).toBe(T0 + 9 * HOUR)
    // While open, a stretch of unjudged windows of any length keeps the episode open, with no transition.
    const long = fold(windows('xx' + '?'.repeat(20) + 'x'))
    expect(statuses(long.transitions)).toEqual(['firing@1', 'updated@22'])
    expect(new Set(long.transitions.map((t) => t.alert_id)).size).toBe(1)
  })

  it('n of m counts judged windows only, and a finding counts even where the window is marked not judged', () => {
    // 2 of the last 2 judged windows: windows 0 and 3 (1 and 2 not judged).
    const { transitions } = fold(windows('x??x'), { ...rule, n: 2, m: 2 })
    expect(statuses(transitions)).toEqual(['firing@3'])
    expect(transitions[0]!.first_seen).toBe(T0)
    // Unjudged windows do not push an earlier finding out of the last m either way: '.x' then '?' x3 then 'x'.
    expect(statuses(fold(windows('.x???x'), { ...rule, n: 2, m: 3 }).transitions)).toEqual(['firing@5'])
    const marked = windows('xx').map((w) => ({ ...w, not_judged: true }))
    expect(statuses(fold(marked).transitions)).toEqual(['firing@1'])
  })

  it('resume equals the full fold with unjudged windows at every split point', () => {
    const seq = windows('.x?x??.?..x?x.??.?...xx')
    const full = fold(seq)
    expect(statuses(full.transitions)).toEqual(['firing@3', 'resolved@9', 'firing@12', 'resolved@18', 'firing@22'])
    for (let split = 0; split <= seq.length; split++) {
      const head = fold(seq.slice(0, split))
      const tail = resume(importEpisodeState(exportEpisodeState(head.state)), seq.slice(split), rule)
      expect([...head.transitions, ...tail.transitions]).toEqual(full.transitions)
    }
  })

  it('reads stored evaluations old and new, and a window is not judged only when no model version judged the identity', () => {
    const f = finding(T0)
    // Rows written before not_judged existed: a bare array of findings, every identity judged.
    expect(decodeEvaluation(JSON.stringify([f]))).toEqual({ findings: [f], not_judged: [] })
    expect(decodeEvaluation('[]')).toEqual({ findings: [], not_judged: [] })
    const unjudged = { kind: 'drift' as const, subject: 'features', reason: 'window volume 150 < min_volume 200' }
    const stored = { findings: [], not_judged: [unjudged] }
    expect(JSON.parse(encodeEvaluation(stored))).toEqual({ findings: [], not_judged: [unjudged] })
    expect(decodeEvaluation(encodeEvaluation(stored))).toEqual(stored)

    const clean = { findings: [], not_judged: [] }
    const w0 = combineVersions(T0, [stored]) // one version, not judged
    const w1 = combineVersions(T0 + HOUR, [stored, clean]) // v1 not judged, v2 judged it clean
    const w2 = combineVersions(T0 + 2 * HOUR, [stored, { findings: [finding(T0 + 2 * HOUR)], not_judged: [] }]) // v2 found it
    const w3 = combineVersions(T0 + 3 * HOUR, [stored, stored])
    const w4 = combineVersions(T0 + 4 * HOUR, [decodeEvaluation('[]')]) // an old row: clean
    const seq = sequenceFor(identity, [w0, w1, w2, w3, w4])
    expect(seq.map((w) => (w.finding ? 'x' : w.not_judged ? '?' : '.'))).toEqual(['?', '.', 'x', '?', '.'])
    // Only the identity that was not judged: another subject in the same windows is clean.
    expect(sequenceFor({ ...identity, subject: 'features_vs_previous' }, [w0, w3]).map((w) => w.not_judged ?? false)).toEqual([false, false])
  })

  it('rejects a corrupt exported state with the field named', () => {
    const json = JSON.stringify({ ...initialEpisodeState(identity), recent: [{ window_start: 'x', hit: true }] })
    expect(() => importEpisodeState(json)).toThrow(/recent\.0\.window_start/)
  })

  it('takes the rule from the config, per kind, and builds sequences from whole-window evaluations', () => {
    const config = detectorConfig({ hygiene: { fire_after: { n: 3, m: 4 }, by_kind: { join_health: { fire_after: { n: 1, m: 1 } } } } })
    expect(hygieneFor(config, 'drift')).toMatchObject({ n: 3, m: 4, k: 3 })
    expect(hygieneFor(config, 'join_health')).toMatchObject({ n: 1, m: 1, k: 3 })
    const other: Finding = { ...finding(T0), subject: 'prediction', kind: 'prediction_drift' }
    const v2: Finding = { ...finding(T0, 'critical'), key: windowKey(T0, { model_version: 'v2' }) }
    const seq = sequenceFor(identity, [
      { window_start: T0, findings: [finding(T0), v2, other] },
      { window_start: T0 + HOUR, findings: [other] },
    ])
    expect(seq.map((w) => w.finding?.key.model_version ?? null)).toEqual(['v2', null])
  })
})
