import { formatDuration } from '../../../shared/config/duration.ts'
import type { MonitorTrigger } from '../../../shared/events/types.ts'
import type { EpisodeTransition } from './alert-episodes.ts'
import { fmt } from '../detectors/finding.ts'

// The MonitorTrigger sent for an episode transition, with a one-line summary an on-call engineer
// can act on: what, where, how bad against which threshold, since when, and what to do next.

/** '2025-11-28 09:00Z' */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`
}

type Described = Pick<MonitorTrigger, 'model_id' | 'model_version' | 'segment' | 'kind' | 'subject' | 'window_size_ms'>

function describe(a: Described): string {
  return `${a.kind}/${a.subject} on ${a.model_id} ${a.model_version}, segment ${a.segment}, ${formatDuration(a.window_size_ms)} windows`
}

function headline(t: EpisodeTransition): string {
  return describe({ ...t.identity, model_version: t.finding.key.model_version })
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
    data_time: 0,
  }
}

/**
 * The resolution of a published firing alert that the episode fold no longer finds: its windows
 * were evaluated again (late labels or late predictions changed their metrics) and no longer
 * give this episode (no finding, or findings that make another episode with another id). Built
 * from the alert's published state only, so every instance and every replay sends the same
 * resolution: same id, last_seen and severity (and so the same Alertmanager labels, which
 * resolves the very alert that was sent), window and numbers as last published, and a summary
 * that says why it ended.
 */
export function withdrawnTrigger(published: MonitorTrigger): MonitorTrigger {
  const episodeEnd = published.last_seen + published.window_size_ms
  return {
    ...published,
    status: 'resolved',
    summary:
      `RESOLVED ${describe(published)}: withdrawn, re-evaluation of its windows no longer finds it ` +
      `(late data, e.g. labels, changed them since it fired); it had fired for the windows from ${formatTime(published.first_seen)} to ${formatTime(episodeEnd)}.`,
  }
}
