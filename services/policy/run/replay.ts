import type { MonitorTrigger, RetrainRequest } from '../../shared/events/types.ts'
import type { ContextLoader } from '../store/context-loader.ts'
import { decide, retrainCost } from '../core/decide.ts'
import type { ApprovalAction, ContextFacts, PastRequest } from '../core/decision-context.ts'
import { EpisodeTracker, episodeOptions } from '../core/episode-tracker.ts'
import type { PolicyConfig } from '../core/policy-config.ts'
import { triggerKey, type PolicyStore } from '../store/policy-store.ts'

// Dry run: what would a policy have decided over the stored trigger history? The same episode
// fold and the same decide() as the live service, with no writes and no Kafka. The facts each
// live decision saw are stored with it (context_json) and reused, so a replay judges with what
// was known then, not with the labels that arrived since. Triggers the live service never decided
// (another policy suppressed them, or history from before it ran) get facts read now, flagged.
// Retrains the replay itself decides feed its own cooldown, rate and budget: a stricter policy
// that skips one retrain may allow a later one.

export interface ReplayOptions {
  store: Pick<PolicyStore, 'triggerHistory' | 'monitorHistory' | 'storedDecisions' | 'load'>
  /** Needed only for triggers without stored facts. */
  loader?: ContextLoader
  policies: Map<string, PolicyConfig>
  /** 'policy': the triggers the policy service consumed; 'monitor': the monitor's alert_events. */
  source?: 'policy' | 'monitor'
  models?: string[]
}

export interface ReplayEntry {
  model_id: string
  alert_id: string
  status: string
  last_seen: number
  episode_id: string
  decision_id: string
  decision: string
  deciding_gate: string
  deciding_code: string
  request_id: string
  /** 'recorded': the live decision's facts; 'current': read from ClickHouse now. */
  facts: 'recorded' | 'current'
  /** What the live run decided on the same trigger state, if it did. */
  live: { decision_id: string; decision: string; deciding_code: string } | null
}

export interface ReplayReport {
  entries: ReplayEntry[]
  counts: Record<string, number>
  requests: string[]
  /** Entries whose decision differs from the live one. */
  changed: ReplayEntry[]
  skipped: { model_id: string; alert_id: string; reason: string }[]
}

export async function replayPolicy(options: ReplayOptions): Promise<ReplayReport> {
  const history = options.source === 'monitor' ? await options.store.monitorHistory(options.models) : await options.store.triggerHistory(options.models)
  const stored = await options.store.storedDecisions(options.models)
  const factsByKey = new Map<string, ContextFacts>()
  const liveByKey = new Map<string, { decision_id: string; decision: string; deciding_code: string }>()
  for (const d of stored) {
    factsByKey.set(d.trigger_key, d.facts)
    liveByKey.set(d.trigger_key, { decision_id: d.decision_id, decision: d.decision, deciding_code: d.deciding_code })
  }
  // People's approvals are part of the history (by episode; episode ids are deterministic).
  const state = await options.store.load()
  const approvals: ApprovalAction[] = state.approvals.map(({ decision_id, episode_id, action, at }) => ({
    decision_id,
    episode_id,
    action,
    at,
  }))

  const tracker = new EpisodeTracker([], episodeOptions(options.policies))
  const retrains = new Map<string, PastRequest[]>()
  const proposals = new Map<string, RetrainRequest>()
  const seen = new Set<string>()
  const report: ReplayReport = { entries: [], counts: {}, requests: [], changed: [], skipped: [] }

  for (const { trigger, received_at } of history) {
    const key = triggerKey(trigger)
    if (seen.has(key)) continue
    seen.add(key)
    const policy = options.policies.get(trigger.model_id)
    if (!policy) {
      report.skipped.push({ model_id: trigger.model_id, alert_id: trigger.alert_id, reason: 'no policy for this model' })
      continue
    }
    const applied = tracker.apply(trigger, received_at)
    if (applied.kind !== 'applied' || trigger.status !== 'firing') continue

    let facts = factsByKey.get(key)
    const source: ReplayEntry['facts'] = facts ? 'recorded' : 'current'
    if (!facts) {
      if (!options.loader) {
        report.skipped.push({ model_id: trigger.model_id, alert_id: trigger.alert_id, reason: 'no stored facts and no loader' })
        continue
      }
      facts = await options.loader.load(applied.episode, policy, asOfFor(trigger, received_at))
    }
    const modelRetrains = retrains.get(trigger.model_id) ?? []
    // An approval given before this trigger sent the proposed request then, as it did live.
    for (const a of approvals) {
      const proposed = proposals.get(a.decision_id)
      if (a.action !== 'approve' || !proposed || a.at > received_at || modelRetrains.some((r) => r.episode_id === proposed.episode_id)) continue
      if (proposed.model_id !== trigger.model_id) continue
      modelRetrains.push({
        request_id: proposed.request_id,
        episode_id: proposed.episode_id,
        decision_id: proposed.decision_id,
        requested_at: a.at,
        cost: retrainCost(policy),
      })
      tracker.markRequested(proposed.episode_id, proposed.request_id, a.at)
      report.requests.push(proposed.request_id)
    }
    retrains.set(trigger.model_id, modelRetrains)
    // Investigation outcomes recorded before this trigger arrived count, as they did live.
    const investigations = state.investigations.filter((i) => i.model_id === trigger.model_id && i.at <= received_at)
    // Outcomes of retrains whose new version was serving by then (they are judged a little later, as labels mature).
    const outcomes = state.retrainOutcomes.filter((o) => o.model_id === trigger.model_id && o.deployed_at <= received_at)
    const result = decide(
      { ...facts, episode: applied.episode, history: { retrains: modelRetrains, approvals, investigations, retrain_outcomes: outcomes } },
      policy,
    )
    if (result.proposed) proposals.set(result.proposed.decision_id, result.proposed)
    if (result.request && !modelRetrains.some((r) => r.request_id === result.request!.request_id)) {
      modelRetrains.push({
        request_id: result.request.request_id,
        episode_id: result.request.episode_id,
        decision_id: result.decision.decision_id,
        requested_at: result.request.requested_at,
        cost: retrainCost(policy),
      })
      retrains.set(trigger.model_id, modelRetrains)
      tracker.markRequested(applied.episode.episode_id, result.request.request_id, received_at)
      report.requests.push(result.request.request_id)
    }
    const entry: ReplayEntry = {
      model_id: trigger.model_id,
      alert_id: trigger.alert_id,
      status: trigger.status,
      last_seen: trigger.last_seen,
      episode_id: applied.episode.episode_id,
      decision_id: result.decision.decision_id,
      decision: result.decision.decision,
      deciding_gate: result.deciding?.reason.gate ?? '',
      deciding_code: result.deciding?.reason.code ?? '',
      request_id: result.request?.request_id ?? '',
      facts: source,
      live: liveByKey.get(key) ?? null,
    }
    report.entries.push(entry)
    report.counts[entry.decision] = (report.counts[entry.decision] ?? 0) + 1
    if (entry.live && entry.live.decision !== entry.decision) report.changed.push(entry)
  }
  return report
}

/** Decision time for a trigger without stored facts: when it was received, or its window end. */
function asOfFor(trigger: MonitorTrigger, receivedAt: number): number {
  return receivedAt > 0 ? receivedAt : trigger.window_end
}

/** A plain-text table of a report (for the CLI). */
export function formatReport(report: ReplayReport): string {
  const lines = report.entries.map(
    (e) =>
      `${e.model_id}\t${e.episode_id.slice(0, 12)}\t${e.alert_id.slice(0, 12)}\t${new Date(e.last_seen).toISOString()}\t${e.decision}\t${e.deciding_code || '-'}\t${e.live ? `${e.live.decision}${e.live.decision === e.decision ? '' : ' (changed)'}` : '-'}\t${e.facts}`,
  )
  const counts = Object.entries(report.counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
  return [
    'model\tepisode\talert\twindow\tdecision\tcode\tlive\tfacts',
    ...lines,
    `decisions: ${counts || 'none'}; retrain requests: ${report.requests.length}; changed vs live: ${report.changed.length}; skipped: ${report.skipped.length}`,
  ].join('\n')
}
