import type { MonitorTrigger } from '../../shared/events/types.ts'
import { sha256 } from './decide.ts'
import type { Episode } from './decision-context.ts'
import type { PolicyConfig } from './policy-config.ts'

// Groups a model's alerts into episodes: one episode per change. Drift, a performance drop and
// an estimated drop of the same change are one episode, decided together, with at most one
// retrain request. An alert joins the open episode whose change point is nearest to its first
// window, when that is within the model's episode window (policy.episode_window); otherwise it
// opens a new episode, so a long-running alert does not absorb every later, unrelated change of
// the model. Alerts on cold-start segments (policy.segments.cold_start) form episodes of their
// own: such a segment differs from the population reference by nature and fires for weeks, and
// inside a model-wide episode its persistence would make a one-day event look sustained and a
// confined shift look global. An episode closes
// when every alert in it has resolved. Triggers of a model arrive in order (keyed by model_id),
// so the grouping is a deterministic fold over the trigger history: the live service and replay
// get the same ids.

export interface EpisodeState {
  episode_id: string
  model_id: string
  model_version: string
  opened_at: number
  change_point: number
  status: 'open' | 'closed'
  /** Latest state per alert_id. */
  alerts: Record<string, MonitorTrigger>
  /** Set once a retrain was requested: later alerts of a new version start a new episode. */
  request_id: string | null
  updated_at: number
}

export type ApplyResult =
  | { kind: 'applied'; episode: Episode; state: EpisodeState }
  /** A redelivered or out-of-date trigger state: nothing changes. */
  | { kind: 'stale'; state: EpisodeState | null }
  /** A resolution for an alert that belongs to no episode (e.g. resolved before we saw it fire). */
  | { kind: 'ignored' }

/** Order of one alert's states: later windows win; at the same window, resolved comes last. */
function rank(t: MonitorTrigger): [number, number] {
  return [t.last_seen, t.status === 'resolved' ? 1 : 0]
}

function newer(a: MonitorTrigger, b: MonitorTrigger): boolean {
  const [x1, x2] = rank(a)
  const [y1, y2] = rank(b)
  return x1 > y1 || (x1 === y1 && x2 > y2)
}

export function episodeId(modelId: string, openingAlertId: string): string {
  return sha256(['episode', modelId, openingAlertId]).slice(0, 32)
}

export function toEpisode(state: EpisodeState, trigger: MonitorTrigger): Episode {
  return {
    episode_id: state.episode_id,
    model_id: state.model_id,
    model_version: state.model_version,
    change_point: state.change_point,
    alerts: Object.values(state.alerts).sort((a, b) => (a.alert_id < b.alert_id ? -1 : 1)),
    trigger,
  }
}

export interface EpisodeTrackerOptions {
  /** How far (ms) an alert's first window may lie from an open episode's change point for the
   *  alert to join it. Infinity (the default): any open episode of the model. */
  episodeWindow?(modelId: string): number
  /** Alerts join only episodes of their own scope (default: one scope per model). */
  scope?(trigger: MonitorTrigger): string
}

/** The tracker options of a set of model policies: their episode window and cold-start segments. */
export function episodeOptions(policies: Map<string, Pick<PolicyConfig, 'episode_window' | 'segments'>>): EpisodeTrackerOptions {
  return {
    episodeWindow: (model) => policies.get(model)?.episode_window ?? Number.POSITIVE_INFINITY,
    scope: (t) => (policies.get(t.model_id)?.segments.cold_start.includes(t.segment) ? `cold_start:${t.segment}` : 'model'),
  }
}

export class EpisodeTracker {
  /** Open episodes per model, oldest first. */
  private readonly open = new Map<string, EpisodeState[]>()
  /** alert_id -> episode_id of every alert seen, so late states find their (closed) episode. */
  private readonly alertIndex = new Map<string, EpisodeState>()
  private readonly byId = new Map<string, EpisodeState>()
  private readonly episodeWindow: (modelId: string) => number
  private readonly scope: (trigger: MonitorTrigger) => string

  constructor(states: EpisodeState[] = [], options: EpisodeTrackerOptions = {}) {
    this.episodeWindow = options.episodeWindow ?? (() => Number.POSITIVE_INFINITY)
    this.scope = options.scope ?? (() => '')
    for (const s of [...states].sort((a, b) => a.opened_at - b.opened_at)) this.restore(s)
  }

  private restore(state: EpisodeState): void {
    const copy = structuredClone(state)
    if (copy.status === 'open') this.markOpen(copy)
    this.byId.set(copy.episode_id, copy)
    for (const id of Object.keys(copy.alerts)) this.alertIndex.set(id, copy)
  }

  private markOpen(state: EpisodeState): void {
    const list = this.open.get(state.model_id) ?? []
    if (!list.includes(state)) list.push(state)
    this.open.set(state.model_id, list)
  }

  private markClosed(state: EpisodeState): void {
    const list = (this.open.get(state.model_id) ?? []).filter((e) => e !== state)
    if (list.length > 0) this.open.set(state.model_id, list)
    else this.open.delete(state.model_id)
  }

  /** The most recently opened open episode of a model. */
  openEpisode(modelId: string): EpisodeState | undefined {
    return this.open.get(modelId)?.at(-1)
  }

  openEpisodes(modelId: string): EpisodeState[] {
    return [...(this.open.get(modelId) ?? [])]
  }

  /**
   * The episode an alert starting at `firstSeen` belongs to: the one whose change point is nearest,
   * within the window. With a window, closed episodes count too: alerts of one change that fired
   * and resolved before the next one arrived (a burst of late evaluations) stay one episode.
   * Without one (Infinity), only the open episode, as before. Only episodes of the alert's scope
   * (see EpisodeTrackerOptions.scope) are candidates.
   */
  private match(trigger: MonitorTrigger): EpisodeState | undefined {
    const { model_id: modelId, first_seen: firstSeen } = trigger
    const window = this.episodeWindow(modelId)
    const scope = this.scope(trigger)
    const sameScope = (e: EpisodeState): boolean => {
      const first = Object.values(e.alerts)[0]
      return !first || this.scope(first) === scope
    }
    const open = (this.open.get(modelId) ?? []).filter(sameScope)
    const candidates = Number.isFinite(window) ? [...this.byId.values()].filter((e) => e.model_id === modelId && sameScope(e)) : open
    // Nearest change point first; on a tie an open episode, then the most recently opened.
    const rank = (e: EpisodeState): [number, number, number] => [Math.abs(firstSeen - e.change_point), open.includes(e) ? 0 : 1, -e.opened_at]
    let best: EpisodeState | undefined
    for (const e of candidates) {
      if (Math.abs(firstSeen - e.change_point) > window) continue
      const [d, o, t] = rank(e)
      const b = best && rank(best)
      if (!b || d < b[0] || (d === b[0] && (o < b[1] || (o === b[1] && t <= b[2])))) best = e
    }
    return best
  }

  get(episodeId: string): EpisodeState | undefined {
    return this.byId.get(episodeId)
  }

  /** Remembers that the episode's retrain was requested (by a decision or an approval). */
  markRequested(episodeId: string, requestId: string, at: number): EpisodeState | undefined {
    const state = this.get(episodeId)
    if (!state) return undefined
    state.request_id = requestId
    state.updated_at = Math.max(state.updated_at, at)
    return structuredClone(state)
  }

  apply(trigger: MonitorTrigger, at: number): ApplyResult {
    const known = this.alertIndex.get(trigger.alert_id)
    if (known) {
      const previous = known.alerts[trigger.alert_id]!
      if (!newer(trigger, previous)) return { kind: 'stale', state: structuredClone(known) }
      // An alert keeps its episode even after that episode closed (a late update of it).
      return this.update(known, trigger, at)
    }
    let state = this.match(trigger)
    // After a retrain request, alerts of another model version are about the new model.
    if (state && state.request_id && trigger.model_version !== state.model_version && trigger.status === 'firing') {
      state.status = 'closed'
      state.updated_at = at
      this.markClosed(state)
      state = undefined
    }
    if (!state) {
      if (trigger.status !== 'firing') return { kind: 'ignored' }
      state = {
        episode_id: episodeId(trigger.model_id, trigger.alert_id),
        model_id: trigger.model_id,
        model_version: trigger.model_version,
        opened_at: at,
        change_point: trigger.first_seen,
        status: 'open',
        alerts: {},
        request_id: null,
        updated_at: at,
      }
      this.markOpen(state)
      this.byId.set(state.episode_id, state)
    }
    return this.update(state, trigger, at)
  }

  private update(state: EpisodeState, trigger: MonitorTrigger, at: number): ApplyResult {
    state.alerts[trigger.alert_id] = trigger
    this.alertIndex.set(trigger.alert_id, state)
    state.change_point = Math.min(...Object.values(state.alerts).map((a) => a.first_seen))
    state.updated_at = Math.max(state.updated_at, at)
    // A closed episode whose alert fires again is open again (its change is back).
    if (state.status === 'closed' && trigger.status === 'firing') {
      state.status = 'open'
      this.markOpen(state)
    }
    const allResolved = Object.values(state.alerts).every((a) => a.status === 'resolved')
    if (allResolved && state.status === 'open') {
      state.status = 'closed'
      this.markClosed(state)
    }
    return { kind: 'applied', episode: toEpisode(state, trigger), state: structuredClone(state) }
  }
}
