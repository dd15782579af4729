import type { AlertKind, MonitorTrigger } from '../../../shared/events/types.ts'
import {
  combineVersions,
  decodeEvaluation,
  foldEpisodes,
  identityOf,
  initialEpisodeState,
  sequenceFor,
  type EpisodeTransition,
  type StoredEvaluation,
  type WindowEvaluation,
} from './alert-episodes.ts'
import { identityKey, type AlertIdentity } from './alert-id.ts'
import { buildTrigger, withdrawnTrigger } from './alert-text.ts'
import type { HygieneRule } from '../detectors/detector-config.ts'

// From the stored per-window evaluations of a model's series and the alert state already
// published, what to publish: new transitions, and firing alerts that re-evaluated windows no
// longer give (withdrawn). Everything is derived from stored data, so a replay, a restart or a
// second instance arrives at the same alerts.

/** An alert's published state (the `alerts` table). */
export interface PublishedAlert {
  alert_id: string
  kind: string
  subject: string
  segment: string
  status: string
  first_seen: number
  last_seen: number
  severity: string
}

/** One stored evaluation of one window of one segment (one row per model version). */
export interface EvaluationRow {
  segment: string
  window_start: number
  findings_json: string
}

/**
 * True when the published state comes after the trigger in the order the `alerts` table keeps
 * (later last_seen, then resolved after firing) and consumers apply: the trigger cannot replace it.
 */
export function outranks(published: Pick<PublishedAlert, 'status' | 'last_seen'>, trigger: MonitorTrigger): boolean {
  return (
    published.last_seen > trigger.last_seen || (published.last_seen === trigger.last_seen && published.status === 'resolved' && trigger.status !== 'resolved')
  )
}

/** True when the trigger says something the published state does not. */
export function differs(trigger: MonitorTrigger, published: PublishedAlert | undefined): boolean {
  return !published || published.status !== trigger.status || published.last_seen !== trigger.last_seen || published.severity !== trigger.severity
}

/**
 * Folds each segment's evaluations (in window order, all model versions of a window together)
 * into alert episodes and compares them with the published state. `from`: the start of the folded
 * range; alerts that started before it are left alone (their episode cannot be re-derived).
 * Returns the transitions to publish and the ids of published firing alerts to withdraw.
 */
export function reconcileAlerts(
  rows: EvaluationRow[],
  published: Map<string, PublishedAlert>,
  hygiene: (kind: AlertKind) => HygieneRule,
  from: number,
): { changed: MonitorTrigger[]; withdrawn: string[] } {
  const bySegment = new Map<string, Map<number, StoredEvaluation[]>>()
  for (const r of rows) {
    const windows = bySegment.get(r.segment) ?? new Map<number, StoredEvaluation[]>()
    windows.set(r.window_start, [...(windows.get(r.window_start) ?? []), decodeEvaluation(r.findings_json)])
    bySegment.set(r.segment, windows)
  }
  const changed: MonitorTrigger[] = []
  const withdrawn: string[] = []
  for (const [segment, windows] of bySegment) {
    const evaluations: WindowEvaluation[] = [...windows]
      .map(([windowStart, stored]) => combineVersions(windowStart, stored))
      .sort((a, b) => a.window_start - b.window_start)
    const identities = new Map<string, AlertIdentity>()
    for (const e of evaluations) for (const f of e.findings) identities.set(identityKey(identityOf(f)), identityOf(f))
    /** The current state of every alert the fold derives in this segment. */
    const derived = new Map<string, MonitorTrigger>()
    for (const identity of identities.values()) {
      const { transitions } = foldEpisodes(initialEpisodeState(identity), sequenceFor(identity, evaluations), hygiene(identity.kind))
      // The latest transition of each episode is its current state. An episode never published
      // yet is announced with its first (firing) transition as well, so that one that fired and
      // resolved between two evaluations still fires once and resolves once.
      const byAlert = new Map<string, typeof transitions>()
      for (const t of transitions) byAlert.set(t.alert_id, [...(byAlert.get(t.alert_id) ?? []), t])
      continuePublished(byAlert, identity, published)
      for (const [alertId, episode] of byAlert) {
        const latest = buildTrigger(episode[episode.length - 1]!)
        const known = published.get(alertId)
        derived.set(alertId, latest)
        // A state older than the published one (re-evaluation took its latest findings away)
        // cannot replace it: sending it would repeat on every evaluation. A firing alert left
        // that way without an open episode is withdrawn below.
        if (known && outranks(known, latest)) continue
        if (!known && episode.length > 1) changed.push(buildTrigger(episode[0]!))
        if (differs(latest, known)) changed.push(latest)
      }
    }
    for (const known of published.values()) {
      if (known.segment !== segment || known.status !== 'firing' || known.first_seen < from) continue
      const now = derived.get(known.alert_id)
      if (now && (now.status === 'firing' || !outranks(known, now))) continue
      withdrawn.push(known.alert_id)
    }
  }
  return { changed, withdrawn }
}

/**
 * An episode the fold now starts at another window (late data took its first findings away, or
 * gave it earlier ones) is still the alert that was published for those windows: it keeps that
 * alert's id, so it is not withdrawn and announced again as a new alert. An episode takes over
 * the earliest published alert of its identity whose windows overlap its own and that no other
 * episode carries. Rewrites `byAlert` in place.
 */
function continuePublished(byAlert: Map<string, EpisodeTransition[]>, identity: AlertIdentity, published: Map<string, PublishedAlert>): void {
  const candidates = [...published.values()]
    .filter((p) => p.kind === identity.kind && p.subject === identity.subject && p.segment === identity.segment && !byAlert.has(p.alert_id))
    .sort((a, b) => a.first_seen - b.first_seen || (a.alert_id < b.alert_id ? -1 : 1))
  for (const [alertId, episode] of [...byAlert].sort(([, a], [, b]) => a[0]!.first_seen - b[0]!.first_seen)) {
    if (published.has(alertId)) continue
    const latest = episode[episode.length - 1]!
    const taken = candidates.findIndex((p) => p.first_seen <= latest.last_seen && latest.first_seen <= p.last_seen)
    if (taken < 0) continue
    const [continued] = candidates.splice(taken, 1)
    byAlert.delete(alertId)
    byAlert.set(
      continued!.alert_id,
      episode.map((t) => ({ ...t, alert_id: continued!.alert_id })),
    )
  }
}

/** The resolutions of withdrawn alerts, given the triggers that were published for them. */
export function withdrawals(publishedTriggers: MonitorTrigger[], published: Map<string, PublishedAlert>): MonitorTrigger[] {
  return publishedTriggers
    .filter((t) => t.status === 'firing')
    .map(withdrawnTrigger)
    .filter((r) => differs(r, published.get(r.alert_id)))
}
