import { z } from 'zod'
import type { Severity } from '../../../shared/events/types.ts'
import { alertId, type AlertIdentity } from './alert-id.ts'
import type { HygieneRule, MuteWindow } from '../detectors/detector-config.ts'
import { worseSeverity, type Finding, type NotJudged } from '../detectors/finding.ts'

// Alert hygiene as a pure fold over the ordered per-window evaluations of one alert identity:
// - an episode fires when n of the last m judged windows have a finding (the current one included);
// - while firing it stays one episode (one alert id), each window with a finding updates last_seen;
// - it resolves after k consecutive windows without a finding; a new episode then needs a fresh
//   n of m;
// - windows inside a mute window (for the identity's kind) are skipped: neither a finding nor
//   clean, no transition, so muting neither fires, nor resolves, nor splits an episode;
// - so are windows the detector could not judge for the identity (too few labels for a
//   performance check, too little volume): they neither extend an episode nor count towards
//   its resolution, nor towards n of m.
// The state is plain JSON. Windows at or before the last folded one are ignored, so replaying an
// overlap is harmless, and resume(state, rest) equals the fold over the whole sequence.

export interface EpisodeWindow {
  window_start: number
  /** The identity's finding in this window; null when the window was evaluated and clean (or not judged). */
  finding: Finding | null
  /** True when the window could not be judged for the identity: without a finding, it is skipped. */
  not_judged?: boolean
}

export interface OpenEpisode {
  alert_id: string
  /** Start of the episode's first window with a finding. */
  first_seen: number
  /** Start of the latest window with a finding (the MonitorTrigger contract: consumers add
   *  window_size_ms for its end and count firing windows as (last_seen - first_seen) / size + 1). */
  last_seen: number
  windows_with_finding: number
  clean_streak: number
  peak_severity: Severity
  /** The latest finding. */
  finding: Finding
}

export interface EpisodeState {
  format: 1
  identity: AlertIdentity
  /** Start of the last window folded (muted ones included). */
  last_window_start: number | null
  /** The last m judged windows while no episode is open. */
  recent: { window_start: number; hit: boolean }[]
  open: OpenEpisode | null
}

export type TransitionStatus = 'firing' | 'updated' | 'resolved'

/** What changed in one window: everything needed to build the MonitorTrigger. */
export interface EpisodeTransition {
  status: TransitionStatus
  alert_id: string
  identity: AlertIdentity
  first_seen: number
  last_seen: number
  /** The window that caused the transition. */
  window_start: number
  window_end: number
  /** The episode's latest finding (for 'resolved': the last one before the clean windows). */
  finding: Finding
  windows_with_finding: number
  /** Consecutive clean windows behind a 'resolved'; 0 otherwise. */
  clean_windows: number
  peak_severity: Severity
  /** The n, m and k the episode was judged with. */
  rule: { n: number; m: number; k: number }
}

export function initialEpisodeState(identity: AlertIdentity): EpisodeState {
  return { format: 1, identity, last_window_start: null, recent: [], open: null }
}

export function isMuted(mute: MuteWindow[], identity: AlertIdentity, windowStart: number): boolean {
  const windowEnd = windowStart + identity.window_size_ms
  return mute.some((m) => m.from < windowEnd && windowStart < m.to && (!m.kinds || m.kinds.includes(identity.kind)))
}

function clone(state: EpisodeState): EpisodeState {
  return JSON.parse(JSON.stringify(state)) as EpisodeState
}

/**
 * Folds windows into the state. Pure: the input state is not modified. Windows are taken in
 * window_start order; those at or before the state's last window are ignored.
 */
export function foldEpisodes(state: EpisodeState, windows: EpisodeWindow[], rule: HygieneRule): { state: EpisodeState; transitions: EpisodeTransition[] } {
  const s = clone(state)
  const transitions: EpisodeTransition[] = []
  const size = s.identity.window_size_ms
  const ruleOut = { n: rule.n, m: rule.m, k: rule.k }
  const ordered = [...windows].sort((a, b) => a.window_start - b.window_start)
  for (const w of ordered) {
    if (s.last_window_start !== null && w.window_start <= s.last_window_start) continue
    s.last_window_start = w.window_start
    if (isMuted(rule.mute, s.identity, w.window_start)) continue
    if (!w.finding && w.not_judged) continue
    const end = w.window_start + size
    const emit = (status: TransitionStatus, open: OpenEpisode): void => {
      transitions.push({
        status,
        alert_id: open.alert_id,
        identity: s.identity,
        first_seen: open.first_seen,
        last_seen: open.last_seen,
        window_start: w.window_start,
        window_end: end,
        finding: open.finding,
        windows_with_finding: open.windows_with_finding,
        clean_windows: status === 'resolved' ? open.clean_streak : 0,
        peak_severity: open.peak_severity,
        rule: ruleOut,
      })
    }
    const open = s.open
    if (open) {
      if (w.finding) {
        open.last_seen = w.window_start
        open.windows_with_finding++
        open.clean_streak = 0
        open.finding = w.finding
        open.peak_severity = worseSeverity(open.peak_severity, w.finding.severity)
        emit('updated', open)
      } else {
        open.clean_streak++
        if (open.clean_streak >= rule.k) {
          emit('resolved', open)
          s.open = null
          s.recent = []
        }
      }
      continue
    }
    s.recent.push({ window_start: w.window_start, hit: w.finding !== null })
    if (s.recent.length > rule.m) s.recent.splice(0, s.recent.length - rule.m)
    const hits = s.recent.filter((r) => r.hit)
    if (w.finding && hits.length >= rule.n) {
      const first = hits[0]!.window_start
      const episode: OpenEpisode = {
        alert_id: alertId(s.identity, first),
        first_seen: first,
        last_seen: w.window_start,
        windows_with_finding: hits.length,
        clean_streak: 0,
        peak_severity: w.finding.severity,
        finding: w.finding,
      }
      s.open = episode
      s.recent = []
      emit('firing', episode)
    }
  }
  return { state: s, transitions }
}

/** Continues from an exported state: equal to folding the whole sequence from the start. */
export const resume = foldEpisodes

export function exportEpisodeState(state: EpisodeState): string {
  return JSON.stringify(state)
}

const severity = z.enum(['info', 'warning', 'critical'])
const kind = z.enum(['drift', 'prediction_drift', 'performance', 'estimated_performance', 'data_quality', 'join_health', 'anomaly'])
const findingShape = z.looseObject({ kind, subject: z.string(), severity, summary: z.string() })
const stateSchema = z
  .object({
    format: z.literal(1),
    identity: z.object({ model_id: z.string(), kind, subject: z.string(), segment: z.string(), window_size_ms: z.number().int().positive() }).strict(),
    last_window_start: z.number().int().nullable(),
    recent: z.array(z.object({ window_start: z.number().int(), hit: z.boolean() }).strict()),
    open: z
      .object({
        alert_id: z.string().regex(/^[0-9a-f]{32}$/),
        first_seen: z.number().int(),
        last_seen: z.number().int(),
        windows_with_finding: z.number().int().positive(),
        clean_streak: z.number().int().nonnegative(),
        peak_severity: severity,
        finding: findingShape,
      })
      .strict()
      .nullable(),
  })
  .strict()

/** Reads a state written by exportEpisodeState; throws naming the bad field. */
export function importEpisodeState(json: string): EpisodeState {
  const result = stateSchema.safeParse(JSON.parse(json))
  if (!result.success) throw new Error(`invalid episode state: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  return result.data as unknown as EpisodeState
}

/** The windows of one model, segment and window size as evaluated: every finding of each window. */
export interface WindowEvaluation {
  window_start: number
  findings: Finding[]
  /** Identities (kind and subject, in this model, segment and window size) not judged in the window. */
  not_judged?: NotJudged[]
}

/** What the evaluation of one window of one model version stores (window_evaluations.findings_json). */
export interface StoredEvaluation {
  findings: Finding[]
  not_judged: NotJudged[]
}

/** findings_json as written: {"findings": [...], "not_judged": [{"kind", "subject", "reason"}, ...]}. */
export function encodeEvaluation(evaluation: StoredEvaluation): string {
  return JSON.stringify({ findings: evaluation.findings, not_judged: evaluation.not_judged })
}

/**
 * Reads findings_json. Rows written before not_judged was stored hold a bare array of findings:
 * they read as every identity judged, which is what they meant.
 */
export function decodeEvaluation(json: string): StoredEvaluation {
  const parsed = JSON.parse(json) as Finding[] | Partial<StoredEvaluation>
  if (Array.isArray(parsed)) return { findings: parsed, not_judged: [] }
  return { findings: parsed.findings ?? [], not_judged: parsed.not_judged ?? [] }
}

const judgedKey = (n: Pick<NotJudged, 'kind' | 'subject'>): string => JSON.stringify([n.kind, n.subject])

/**
 * One window's evaluation from the stored evaluations of its model versions (one each): all their
 * findings, and as not judged only the identities that no version judged.
 */
export function combineVersions(windowStart: number, stored: StoredEvaluation[]): WindowEvaluation {
  const notJudged = (stored[0]?.not_judged ?? []).filter((n) => stored.every((s) => s.not_judged.some((m) => judgedKey(m) === judgedKey(n))))
  return { window_start: windowStart, findings: stored.flatMap((s) => s.findings), not_judged: notJudged }
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 }

/**
 * One identity's window sequence from whole-window evaluations: its finding per window (the worst
 * when several model versions found it in the same window), null for a window without one, marked
 * not_judged when the window's evaluation says the identity could not be judged.
 */
export function sequenceFor(identity: AlertIdentity, evaluations: WindowEvaluation[]): EpisodeWindow[] {
  return evaluations.map((e) => {
    const mine = e.findings.filter(
      (f) =>
        f.kind === identity.kind &&
        f.subject === identity.subject &&
        f.key.segment === identity.segment &&
        f.key.model_id === identity.model_id &&
        f.key.window_size_ms === identity.window_size_ms,
    )
    mine.sort(
      (a, b) =>
        SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
        (a.key.model_version < b.key.model_version ? 1 : a.key.model_version > b.key.model_version ? -1 : 0),
    )
    const finding = mine[0] ?? null
    if (!finding && (e.not_judged ?? []).some((n) => n.kind === identity.kind && n.subject === identity.subject))
      return { window_start: e.window_start, finding, not_judged: true }
    return { window_start: e.window_start, finding }
  })
}

/** The identity a finding belongs to. */
export function identityOf(finding: Finding): AlertIdentity {
  return {
    model_id: finding.key.model_id,
    kind: finding.kind,
    subject: finding.subject,
    segment: finding.key.segment,
    window_size_ms: finding.key.window_size_ms,
  }
}
