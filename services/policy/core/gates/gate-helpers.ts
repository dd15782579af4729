import type { MonitorTrigger } from '../../../shared/events/types.ts'
import { ALL_SEGMENTS } from '../../../shared/records/window-metrics.ts'
import { SHIFT_KINDS, type DecisionContext, type WindowFacts } from '../decision-context.ts'

/** Metrics where a larger value is worse (a "drop" is a rise). */
export const HIGHER_IS_WORSE = new Set(['mae', 'rmse', 'mape', 'log_loss', 'calibration_error'])

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

/** '3d 4h', '5h', '40m': rounded for people, never used in arithmetic. */
export function human(ms: number): string {
  const abs = Math.abs(ms)
  const d = Math.floor(abs / 86_400_000)
  const h = Math.floor((abs % 86_400_000) / 3_600_000)
  const m = Math.round((abs % 3_600_000) / 60_000)
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`
  if (h > 0) return m > 0 && h < 6 ? `${h}h ${m}m` : `${h}h`
  return `${Math.max(m, abs > 0 ? 1 : 0)}m`
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`
}

export function num(x: number, digits = 3): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(digits)
}

/** End of the latest window an alert fired in. */
export function alertEnd(alert: MonitorTrigger): number {
  return alert.last_seen + alert.window_size_ms
}

/** Consecutive firing windows of an alert episode (first_seen..last_seen, both window starts). */
export function firingRun(alert: MonitorTrigger): number {
  if (alert.window_size_ms <= 0) return 1
  return Math.floor((alert.last_seen - alert.first_seen) / alert.window_size_ms) + 1
}

export function isShift(alert: MonitorTrigger): boolean {
  return SHIFT_KINDS.includes(alert.kind)
}

/** The episode's firing alerts that describe a change of the model's world. */
export function firingShifts(context: DecisionContext): MonitorTrigger[] {
  return context.episode.alerts.filter((a) => a.status === 'firing' && isShift(a))
}

export function describeAlert(alert: MonitorTrigger): string {
  const where = alert.segment === ALL_SEGMENTS ? '' : ` in ${alert.segment}`
  return `${alert.kind} on ${alert.subject}${where}`
}

export function segmentWindows(context: DecisionContext, segment: string): WindowFacts[] {
  return context.windows.filter((w) => w.segment === segment).sort((a, b) => a.window_start - b.window_start)
}

/** Windows of a segment starting at or after the change point. */
export function windowsSinceChange(context: DecisionContext, segment = ALL_SEGMENTS): WindowFacts[] {
  return segmentWindows(context, segment).filter((w) => w.window_start >= context.episode.change_point)
}

/** Baseline windows: the reference period just before the change point. */
export function referenceWindows(context: DecisionContext, referenceMs: number, segment = ALL_SEGMENTS): WindowFacts[] {
  const cp = context.episode.change_point
  return segmentWindows(context, segment).filter((w) => w.window_start < cp && w.window_start >= cp - referenceMs)
}

/** Weighted mean of a per-window value (null values and zero weights skipped). */
export function weightedMean(windows: WindowFacts[], value: (w: WindowFacts) => number | null, weight: (w: WindowFacts) => number): number | null {
  let sum = 0
  let total = 0
  for (const w of windows) {
    const v = value(w)
    const wt = weight(w)
    if (v === null || !Number.isFinite(v) || wt <= 0) continue
    sum += v * wt
    total += wt
  }
  return total > 0 ? sum / total : null
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const SEVERITY_RANK = { info: 0, warning: 1, critical: 2 } as const

export function atLeast(severity: MonitorTrigger['severity'], min: MonitorTrigger['severity']): boolean {
  return (SEVERITY_RANK[severity] ?? 0) >= SEVERITY_RANK[min]
}
