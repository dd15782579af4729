import type { MonitorTrigger } from '../../../shared/events/types.ts'
import { outcome, type DecisionContext, type GateOutcome } from '../decision-context.ts'
import type { CalendarEntry, PolicyConfig } from '../policy-config.ts'
import { HIGHER_IS_WORSE, alertEnd, firingShifts, iso, segmentWindows } from './gate-helpers.ts'

// Gate 3. A rare, known event (Black Friday, a marketing push, a holiday) shifts the data for
// its duration. Retraining on it fits the model to days that will not come back; hold until
// the shift outlives the event by `persistence_windows` windows, or just annotate.

/**
 * Firing windows of an alert that start after `after` (the world after the event). For a labeled
 * performance alert they count from the first on while each, as labeled now, still has enough
 * labels and its metric past the alert's threshold: the monitor bridges windows it could not
 * judge yet, and an alert that only seems to outlive the event because the days after it were not
 * labeled (or not re-evaluated) yet when it was sent has not outlived it.
 */
function windowsAfter(context: DecisionContext, policy: PolicyConfig, alert: MonitorTrigger, after: number): number {
  const size = alert.window_size_ms
  if (size <= 0 || alert.last_seen <= after) return 0
  const first = alert.first_seen > after ? alert.first_seen : alert.first_seen + Math.ceil((after + 1 - alert.first_seen) / size) * size
  if (first > alert.last_seen) return 0
  const all = Math.floor((alert.last_seen - first) / size) + 1
  const labeled = alert.kind === 'performance' && !alert.estimated && size === context.window_size_ms
  if (!labeled) return all
  const windows = new Map(segmentWindows(context, alert.segment).map((w) => [w.window_start, w]))
  const worse = (value: number): boolean => (HIGHER_IS_WORSE.has(alert.subject) ? value > alert.threshold : value < alert.threshold)
  const stillFiring = (start: number): boolean => {
    const w = windows.get(start)
    const value = w?.metrics[alert.subject]
    return w !== undefined && w.label_coverage >= policy.min_label_coverage && value !== null && value !== undefined && worse(value)
  }
  let judged = 0
  while (judged < all && stillFiring(first + judged * size)) judged++
  return judged
}

function applies(entry: CalendarEntry, alerts: MonitorTrigger[]): boolean {
  if (!entry.segments) return true
  return alerts.some((a) => entry.segments!.includes(a.segment))
}

export function knownEventGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  const shifts = firingShifts(context)
  const alerts = shifts.length > 0 ? shifts : context.episode.alerts
  const from = context.episode.change_point
  const to = Math.max(...alerts.map(alertEnd), from)
  const hits = policy.calendar.filter((e) => e.from <= to && e.to >= from && applies(e, alerts))
  if (hits.length === 0) {
    return outcome('known_event', 'pass', 'no_known_event', `No known event in the calendar overlaps ${iso(from)}..${iso(to)}.`)
  }

  const span = (e: CalendarEntry): string => `'${e.name}' (${iso(e.from)}..${iso(e.to)}${e.segments ? `, segments ${e.segments.join(', ')}` : ''})`
  const holds = hits.filter((e) => e.action === 'hold')
  const notes = hits.filter((e) => e.action === 'annotate')
  const needed = policy.persistence_windows
  const blocking = holds.filter((e) => Math.max(0, ...alerts.map((a) => windowsAfter(context, policy, a, e.to))) < needed)
  if (blocking.length > 0) {
    const last = blocking.reduce((a, b) => (a.to >= b.to ? a : b))
    const retryAt = last.to + 1 + needed * context.window_size_ms
    return outcome(
      'known_event',
      'hold',
      'known_event',
      `The shift (from ${iso(from)}) overlaps the known event ${blocking.map(span).join(', ')}. Data shaped by a rare event is not the new normal, so the model is not retrained on it; if the shift still holds for ${needed} windows after the event ends (around ${iso(retryAt)}), it is judged again.`,
      { retry_at: retryAt, facts: { event: last.name } },
    )
  }
  if (holds.length > 0) {
    return outcome(
      'known_event',
      'pass',
      'persists_after_known_event',
      `The shift overlaps ${holds.map(span).join(', ')} but kept firing for at least ${needed} windows after it ended: it is not explained by the event.`,
    )
  }
  return outcome('known_event', 'pass', 'known_event_annotated', `The shift overlaps ${notes.map(span).join(', ')} (annotated, not held).`)
}
