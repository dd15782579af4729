import type { MonitorTrigger } from '../shared/events/types.ts'
import { sha256 } from './decide.ts'
import type { Episode } from './decision-context.ts'

// Groups a model's alerts into episodes: an episode opens with the first firing alert while
// none is open and closes when every alert in it has resolved. Drift, a performance drop and
// an estimated drop of the same change are one episode, decided together, with at most one
// retrain request. Triggers of a model arrive in order (keyed by model_id), so the grouping is
// a deterministic fold over the trigger history: the live service and replay get the same ids.

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

export class EpisodeTracker {
  private readonly open = new Map<string, EpisodeState>()
  /** alert_id -> episode_id of every alert seen, so late states find their (closed) episode. */
  private readonly alertIndex = new Map<string, EpisodeState>()
  private readonly byId = new Map<string, EpisodeState>()

  constructor(states: EpisodeState[] = []) {
    for (const s of states) this.restore(s)
  }

  private restore(state: EpisodeState): void {
    const copy = structuredClone(state)
    if (copy.status === 'open') this.open.set(copy.model_id, copy)
    this.byId.set(copy.episode_id, copy)
    for (const id of Object.keys(copy.alerts)) this.alertIndex.set(id, copy)
  }

  openEpisode(modelId: string): EpisodeState | undefined {
    return this.open.get(modelId)
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
    let state = this.open.get(trigger.model_id)
    // After a retrain request, alerts of another model version are about the new model.
    if (state && state.request_id && trigger.model_version !== state.model_version && trigger.status === 'firing') {
      state.status = 'closed'
      state.updated_at = at
      this.open.delete(trigger.model_id)
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
      this.open.set(trigger.model_id, state)
      this.byId.set(state.episode_id, state)
    }
    return this.update(state, trigger, at)
  }

  private update(state: EpisodeState, trigger: MonitorTrigger, at: number): ApplyResult {
    state.alerts[trigger.alert_id] = trigger
    this.alertIndex.set(trigger.alert_id, state)
    state.change_point = Math.min(...Object.values(state.alerts).map((a) => a.first_seen))
    state.updated_at = Math.max(state.updated_at, at)
    // A closed episode whose alert fires again is open again, unless another one took its place.
    if (state.status === 'closed' && trigger.status === 'firing' && !this.open.has(state.model_id)) {
      state.status = 'open'
      this.open.set(state.model_id, state)
    }
    const allResolved = Object.values(state.alerts).every((a) => a.status === 'resolved')
    if (allResolved && state.status === 'open') {
      state.status = 'closed'
      if (this.open.get(state.model_id) === state) this.open.delete(state.model_id)
    }
    return { kind: 'applied', episode: toEpisode(state, trigger), state: structuredClone(state) }
  }
}
