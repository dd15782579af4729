import { describe, expect, it } from 'vitest'
import { EpisodeTracker, episodeId, episodeOptions } from '../../../services/policy/core/episode-tracker.ts'
import { parsePolicyConfig } from '../../../services/policy/core/policy-config.ts'
import { CP, DAY, H, MODEL, trigger } from './fixtures.ts'

describe('episode tracker', () => {
  it('groups a model’s overlapping alerts into one episode with the earliest first_seen as change point', () => {
    const t = new EpisodeTracker()
    const drift = trigger({ alert_id: 'drift', kind: 'drift', first_seen: CP + H, last_seen: CP + H })
    const a = t.apply(drift, 1)
    expect(a.kind).toBe('applied')
    const perf = trigger({ alert_id: 'perf', first_seen: CP, last_seen: CP + 2 * H })
    const b = t.apply(perf, 2)
    if (a.kind !== 'applied' || b.kind !== 'applied') throw new Error('expected applied')
    expect(b.episode.episode_id).toBe(a.episode.episode_id)
    expect(b.episode.episode_id).toBe(episodeId(MODEL, 'drift'))
    expect(b.episode.change_point).toBe(CP)
    expect(b.episode.alerts.map((x) => x.alert_id)).toEqual(['drift', 'perf'])
  })

  it('a redelivered or older state of an alert is stale; the episode closes when all alerts resolved', () => {
    const t = new EpisodeTracker()
    const first = trigger({ last_seen: CP + H })
    t.apply(first, 1)
    expect(t.apply(first, 2).kind).toBe('stale')
    expect(t.apply(trigger({ last_seen: CP }), 3).kind).toBe('stale')
    const resolved = t.apply(trigger({ last_seen: CP + H, status: 'resolved' }), 4)
    expect(resolved.kind === 'applied' && resolved.state.status).toBe('closed')
    expect(t.openEpisode(MODEL)).toBeUndefined()
    // A new alert after that opens a new episode.
    const next = t.apply(trigger({ alert_id: 'perf-2', first_seen: CP + 10 * H, last_seen: CP + 10 * H }), 5)
    expect(next.kind === 'applied' && next.episode.episode_id).toBe(episodeId(MODEL, 'perf-2'))
  })

  it('a resolution of an unknown alert is ignored; state survives a restart from its snapshot', () => {
    const t = new EpisodeTracker()
    expect(t.apply(trigger({ status: 'resolved' }), 1).kind).toBe('ignored')
    const applied = t.apply(trigger(), 2)
    if (applied.kind !== 'applied') throw new Error('expected applied')
    const restarted = new EpisodeTracker([applied.state])
    expect(restarted.apply(trigger(), 3).kind).toBe('stale')
    expect(restarted.openEpisode(MODEL)?.episode_id).toBe(applied.episode.episode_id)
  })

  it('after a retrain request, a firing alert of another model version starts a new episode', () => {
    const t = new EpisodeTracker()
    const a = t.apply(trigger(), 1)
    if (a.kind !== 'applied') throw new Error('expected applied')
    t.markRequested(a.episode.episode_id, 'req', 2)
    const b = t.apply(trigger({ alert_id: 'v2-drift', model_version: 'v2', kind: 'drift' }), 3)
    expect(b.kind === 'applied' && b.episode.episode_id).not.toBe(a.episode.episode_id)
    expect(t.get(a.episode.episode_id)?.status).toBe('closed')
  })

  it('a later change opens its own episode while a long-running alert keeps the first one open (episode window)', () => {
    const t = new EpisodeTracker([], { episodeWindow: () => DAY })
    // A cold-start segment alert that never resolves...
    const cold = t.apply(trigger({ alert_id: 'cold', kind: 'drift', segment: 'new_entity=true', first_seen: CP, last_seen: CP + 20 * DAY }), 1)
    // ...a performance alert starting 9 days later is another change: a new episode, its own change point.
    const perf = t.apply(trigger({ alert_id: 'perf', first_seen: CP + 9 * DAY, last_seen: CP + 9 * DAY + 2 * H }), 2)
    // ...and drift of the same onset (within a day) joins the performance episode, not the cold-start one.
    const drift = t.apply(trigger({ alert_id: 'drift', kind: 'drift', first_seen: CP + 9 * DAY - 6 * H, last_seen: CP + 9 * DAY + 2 * H }), 3)
    if (cold.kind !== 'applied' || perf.kind !== 'applied' || drift.kind !== 'applied') throw new Error('expected applied')
    expect(perf.episode.episode_id).toBe(episodeId(MODEL, 'perf'))
    expect(perf.episode.change_point).toBe(CP + 9 * DAY)
    expect(drift.episode.episode_id).toBe(episodeId(MODEL, 'perf'))
    expect(drift.episode.change_point).toBe(CP + 9 * DAY - 6 * H)
    expect(t.openEpisodes(MODEL).map((e) => e.episode_id)).toEqual([episodeId(MODEL, 'cold'), episodeId(MODEL, 'perf')])
    // Resolving the later episode's alerts closes it alone; the state survives a restart.
    t.apply(trigger({ alert_id: 'perf', status: 'resolved', first_seen: CP + 9 * DAY, last_seen: CP + 9 * DAY + 3 * H }), 4)
    const last = t.apply(
      trigger({ alert_id: 'drift', kind: 'drift', status: 'resolved', first_seen: CP + 9 * DAY - 6 * H, last_seen: CP + 9 * DAY + 3 * H }),
      5,
    )
    if (last.kind !== 'applied') throw new Error('expected applied')
    expect(last.state.status).toBe('closed')
    const restarted = new EpisodeTracker([cold.state, last.state], { episodeWindow: () => DAY })
    expect(restarted.openEpisodes(MODEL).map((e) => e.episode_id)).toEqual([episodeId(MODEL, 'cold')])
  })

  it('without an episode window every alert joins the open episode (one change at a time)', () => {
    const t = new EpisodeTracker()
    const a = t.apply(trigger({ alert_id: 'cold', first_seen: CP, last_seen: CP + 20 * DAY }), 1)
    const b = t.apply(trigger({ alert_id: 'perf', first_seen: CP + 9 * DAY, last_seen: CP + 9 * DAY }), 2)
    if (a.kind !== 'applied' || b.kind !== 'applied') throw new Error('expected applied')
    expect(b.episode.episode_id).toBe(a.episode.episode_id)
  })

  it('alerts of one onset that fire and resolve one after the other stay one episode (a closed episode within the window is reopened)', () => {
    const t = new EpisodeTracker([], { episodeWindow: () => DAY })
    const a = t.apply(trigger({ alert_id: 'nulls', kind: 'data_quality', subject: 'null_rate', first_seen: CP, last_seen: CP + H }), 1)
    t.apply(trigger({ alert_id: 'nulls', kind: 'data_quality', subject: 'null_rate', status: 'resolved', first_seen: CP, last_seen: CP + H }), 2)
    expect(t.openEpisodes(MODEL)).toEqual([])
    const b = t.apply(trigger({ alert_id: 'drift', kind: 'drift', first_seen: CP, last_seen: CP + H }), 3)
    if (a.kind !== 'applied' || b.kind !== 'applied') throw new Error('expected applied')
    expect(b.episode.episode_id).toBe(a.episode.episode_id)
    expect(b.state.status).toBe('open')
    // A change two days later is another episode.
    const c = t.apply(trigger({ alert_id: 'perf', first_seen: CP + 2 * DAY, last_seen: CP + 2 * DAY + H }), 4)
    expect(c.kind === 'applied' && c.episode.episode_id).toBe(episodeId(MODEL, 'perf'))
  })

  it('alerts on a cold-start segment form episodes of their own, even when they start with a model-wide change', () => {
    const t = new EpisodeTracker([], episodeOptions(new Map([[MODEL, parsePolicyConfig({ segments: { cold_start: ['new_entity=true'] } })]])))
    // A one-day event shows as drift on the whole traffic and on the new-user segment, which then keeps drifting.
    const all = t.apply(trigger({ alert_id: 'event-all', kind: 'drift', first_seen: CP, last_seen: CP + 3 * H }), 1)
    const cold = t.apply(trigger({ alert_id: 'event-new', kind: 'drift', segment: 'new_entity=true', first_seen: CP, last_seen: CP + 9 * DAY }), 2)
    const other = t.apply(trigger({ alert_id: 'event-old', kind: 'drift', segment: 'new_entity=false', first_seen: CP, last_seen: CP + 3 * H }), 3)
    if (all.kind !== 'applied' || cold.kind !== 'applied' || other.kind !== 'applied') throw new Error('expected applied')
    expect(cold.episode.episode_id).toBe(episodeId(MODEL, 'event-new'))
    expect(cold.episode.alerts.map((a) => a.alert_id)).toEqual(['event-new'])
    expect(other.episode.episode_id).toBe(all.episode.episode_id)
    expect(all.episode.episode_id).not.toBe(cold.episode.episode_id)
  })
})
