import { formatDuration } from '../../shared/config/duration.ts'
import type { MonitorTrigger } from '../../shared/events/types.ts'
import type { EpisodeTransition } from './alert-episodes.ts'
import { fmt } from './finding.ts'

// The MonitorTrigger sent for an episode transition, with a one-line summary an on-call engineer
// can act on: what, where, how bad against which threshold, since when, and what to do next.

/** '2025-11-28 09:00Z' */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`
}

function headline(t: EpisodeTransition): string {
  const f = t.finding
  const where = `${t.identity.model_id} ${f.key.model_version}, segment ${t.identity.segment}, ${formatDuration(t.identity.window_size_ms)} windows`
  return `${t.identity.kind}/${t.identity.subject} on ${where}`
}

function howBad(t: EpisodeTransition): string {
  const f = t.finding
  return `${f.measure} ${fmt(f.observed)} (expected ${fmt(f.expected)}, threshold ${fmt(f.threshold)})`
}

export function triggerSummary(t: EpisodeTransition): string {
  const f = t.finding
  if (t.status === 'resolved') {
    return (
      `RESOLVED ${headline(t)}: clean for ${t.clean_windows} windows up to ${formatTime(t.window_end)}; ` +
      `episode ${formatTime(t.first_seen)} to ${formatTime(t.last_seen + t.identity.window_size_ms)}, ${t.windows_with_finding} windows with a finding, peak ${t.peak_severity}. ` +
      `Last: ${f.summary}`
    )
  }
  const persistence = t.status === 'firing' ? `${t.windows_with_finding} of the last ${t.rule.m} windows` : `${t.windows_with_finding} windows so far`
  return (
    `${f.severity.toUpperCase()} ${headline(t)}: ${f.summary}; ${howBad(t)}${f.estimated ? ', estimated without labels' : ''}` +
    `${f.label_coverage !== null ? `, label coverage ${fmt(f.label_coverage * 100)}%` : ''}; since ${formatTime(t.first_seen)} (${persistence}). Next: ${f.runbook}`
  )
}

export function buildTrigger(t: EpisodeTransition): MonitorTrigger {
  const f = t.finding
  return {
    alert_id: t.alert_id,
    model_id: t.identity.model_id,
    model_version: f.key.model_version,
    segment: t.identity.segment,
    kind: t.identity.kind,
    subject: t.identity.subject,
    severity: t.status === 'resolved' ? t.peak_severity : f.severity,
    status: t.status === 'resolved' ? 'resolved' : 'firing',
    window_size_ms: t.identity.window_size_ms,
    window_start: t.window_start,
    window_end: t.window_end,
    observed: f.observed,
    expected: f.expected,
    threshold: f.threshold,
    evidence: f.evidence,
    label_coverage: f.label_coverage,
    estimated: f.estimated,
    first_seen: t.first_seen,
    last_seen: t.last_seen,
    summary: triggerSummary(t),
    evidence_query: f.evidence_query,
  }
}
