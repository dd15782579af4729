import type { MonitorTrigger } from '../../shared/events/types.ts'
import type { InvestigationOutcome, WindowFacts } from './decision-context.ts'
import { alertEnd } from './gates/gate-helpers.ts'

// On-call's word on an episode overrides what the gates can infer: a real change needs no root
// cause, a false alarm needs nothing, and a fixed pipeline bug's windows are not the model's
// world: they are left out of the evidence and the training data of every later decision.

/** The latest outcome recorded for an episode, if any. */
export function investigationOf(investigations: InvestigationOutcome[] | undefined, episodeId: string): InvestigationOutcome | null {
  let latest: InvestigationOutcome | null = null
  for (const i of investigations ?? []) if (i.episode_id === episodeId && (!latest || i.at >= latest.at)) latest = i
  return latest
}

/** The time ranges of fixed pipeline bugs of a model: [change point, fixed at). */
export function bugRanges(investigations: InvestigationOutcome[] | undefined, modelId: string): { from: number; to: number }[] {
  const latest = new Map<string, InvestigationOutcome>()
  for (const i of investigations ?? []) if (i.model_id === modelId && (latest.get(i.episode_id)?.at ?? -Infinity) <= i.at) latest.set(i.episode_id, i)
  return [...latest.values()]
    .filter((i) => i.outcome === 'pipeline_bug' && i.fixed_at !== null && i.fixed_at > i.change_point)
    .map((i) => ({ from: i.change_point, to: i.fixed_at! }))
}

/** Windows that overlap no bug range. */
export function withoutBugWindows(windows: WindowFacts[], bugs: { from: number; to: number }[]): WindowFacts[] {
  return windows.filter((w) => !bugs.some((b) => w.window_start < b.to && w.window_end > b.from))
}

/** A training range that starts after every bug range overlapping it (a request carries one
 *  range, and the newest data is what a retrain needs most). */
export function trainingRangeWithoutBugs(range: { from: number; to: number }, bugs: { from: number; to: number }[]): { from: number; to: number } {
  let from = range.from
  for (const b of bugs) if (b.from < range.to && b.to > from) from = Math.max(from, b.to)
  return { from, to: Math.max(range.to, from) }
}

/** An alert raised and ended inside a fixed bug's range: explained by the bug, no root cause of
 *  a later change. */
export function insideBug(alert: MonitorTrigger, bugs: { from: number; to: number }[]): boolean {
  return alert.status === 'resolved' && bugs.some((b) => alert.first_seen >= b.from && alertEnd(alert) <= b.to)
}
