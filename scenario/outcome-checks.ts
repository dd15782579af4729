import type { ScenarioPhase } from './scenario.ts'

// The expected outcomes of the scenario, checked against what the monitor and the policy
// service recorded. Pure functions over rows read back from ClickHouse and the retrain-requests
// topic (run-report.ts), so the rules are unit-testable and the test and the CLI share them.

export interface AlertRecord {
  alert_id: string
  kind: string
  subject: string
  segment: string
  severity: string
  status: string
  first_seen: number
  last_seen: number
  window_size_ms: number
  observed: number
  expected: number
  label_coverage: number | null
  estimated: boolean
  evidence_names: string[]
}

export interface EpisodeRecord {
  episode_id: string
  change_point: number
  status: string
  request_id: string
  alert_ids: string[]
}

export interface DecisionRecord {
  decision_id: string
  episode_id: string
  decision: string
  deciding_gate: string
  deciding_code: string
  /** Verdict and code of every gate, by gate name. */
  gates: Record<string, { verdict: string; code: string; message: string }>
  trigger_alert_id: string
  decided_at: number
  request_id: string
}

export interface RequestRecord {
  request_id: string
  episode_id: string
  decision_id: string
  requested_at: number
  training_data_from: number
  training_data_to: number
  status: string
}

export interface RunRecords {
  alerts: AlertRecord[]
  episodes: EpisodeRecord[]
  decisions: DecisionRecord[]
  /** retrain_requests rows in ClickHouse. */
  requests: RequestRecord[]
  /** request_id of every RetrainRequest message this run put on the retrain-requests topic. */
  requestMessages: string[]
}

export interface OutcomeCheck {
  phase: ScenarioPhase['name']
  expectation: string
  ok: boolean
  detail: string
}

export interface CheckContext {
  phases: ScenarioPhase[]
  windowSizeMs: number
  /** Cold-start segments of the policy (e.g. new_entity=true). */
  coldStart: string[]
}

const SHIFT = new Set(['drift', 'prediction_drift', 'performance', 'estimated_performance'])

/** Alerts that started in a phase (from one window before it, for alignment, to its end). */
export function alertsIn(records: RunRecords, phase: ScenarioPhase, size: number): AlertRecord[] {
  return records.alerts.filter((a) => a.first_seen >= phase.from - size && a.first_seen < phase.to)
}

/** Episodes made only of alerts on cold-start segments. */
export function coldStartEpisodes(records: RunRecords, coldStart: string[]): EpisodeRecord[] {
  const byId = new Map(records.alerts.map((a) => [a.alert_id, a]))
  return records.episodes.filter((e) => e.alert_ids.length > 0 && e.alert_ids.every((id) => coldStart.includes(byId.get(id)?.segment ?? '')))
}

/** Episodes (not cold-start ones) whose change point lies in a phase. */
export function episodesIn(records: RunRecords, phase: ScenarioPhase, c: CheckContext): EpisodeRecord[] {
  const cold = new Set(coldStartEpisodes(records, c.coldStart).map((e) => e.episode_id))
  return records.episodes.filter((e) => !cold.has(e.episode_id) && e.change_point >= phase.from - c.windowSizeMs && e.change_point < phase.to)
}

const decisionsOf = (records: RunRecords, episodes: EpisodeRecord[]): DecisionRecord[] => {
  const ids = new Set(episodes.map((e) => e.episode_id))
  return records.decisions.filter((d) => ids.has(d.episode_id))
}

const count = (decisions: DecisionRecord[]): string => {
  const by = new Map<string, number>()
  for (const d of decisions) {
    const key = `${d.decision}${d.deciding_code ? ` (${d.deciding_gate}/${d.deciding_code})` : ''}`
    by.set(key, (by.get(key) ?? 0) + 1)
  }
  return [...by].map(([k, n]) => `${n}x ${k}`).join(', ') || 'no decisions'
}

const phase = (c: CheckContext, name: ScenarioPhase['name']): ScenarioPhase => c.phases.find((p) => p.name === name)!

export function checkUpstreamBreak(records: RunRecords, c: CheckContext): OutcomeCheck {
  const p = phase(c, 'upstream_break')
  const alerts = alertsIn(records, p, c.windowSizeMs)
  const quality = alerts.filter((a) => a.kind === 'data_quality')
  const shifts = alerts.filter((a) => SHIFT.has(a.kind))
  const decisions = decisionsOf(records, episodesIn(records, p, c))
  const investigated = decisions.filter((d) => d.decision === 'investigate' && d.deciding_gate === 'root_cause')
  const requests = decisions.filter((d) => d.request_id)
  const ok = quality.length > 0 && shifts.length > 0 && investigated.length > 0 && decisions.every((d) => d.decision !== 'retrain') && requests.length === 0
  return {
    phase: 'upstream_break',
    expectation: 'a data_quality alert concurrent with drift; the root-cause gate says investigate; no retrain request',
    ok,
    detail: `${quality.length} data_quality alerts (${[...new Set(quality.map((a) => a.subject))].join(', ') || 'none'}), ${shifts.length} drift alerts (${[...new Set(shifts.map((a) => `${a.kind}/${a.subject}`))].join(', ') || 'none'}); decisions: ${count(decisions)}`,
  }
}

export function checkBlackFriday(records: RunRecords, c: CheckContext): OutcomeCheck {
  const p = phase(c, 'black_friday')
  const alerts = alertsIn(records, p, c.windowSizeMs).filter((a) => !c.coldStart.includes(a.segment))
  const decisions = decisionsOf(records, episodesIn(records, p, c))
  const byCalendar = decisions.filter((d) => d.deciding_gate === 'known_event')
  const calendarHolds = decisions.every((d) => d.gates.known_event?.verdict === 'hold')
  const ok = alerts.length > 0 && decisions.length > 0 && decisions.every((d) => d.decision === 'hold') && byCalendar.length > 0 && calendarHolds
  return {
    phase: 'black_friday',
    expectation: 'hold: the shift overlaps the known event in the policy calendar; no retrain request',
    ok,
    detail: `${alerts.length} alerts (${[...new Set(alerts.map((a) => `${a.kind}/${a.subject}`))].join(', ') || 'none'}); decisions: ${count(decisions)}; the calendar gate ${calendarHolds ? 'holds every one of them' : 'does not hold all of them'}`,
  }
}

export function checkConceptDrift(records: RunRecords, c: CheckContext): OutcomeCheck {
  const p = phase(c, 'concept_drift')
  const episodes = episodesIn(records, p, c)
  const ids = new Set(episodes.map((e) => e.episode_id))
  const perf = alertsIn(records, p, c.windowSizeMs).filter((a) => a.kind === 'performance' && !a.estimated)
  const distinct = new Set([...records.requests.map((r) => r.request_id), ...records.requestMessages])
  const mine = records.requests.filter((r) => ids.has(r.episode_id))
  const decision = mine[0] && records.decisions.find((d) => d.decision_id === mine[0]!.decision_id)
  const byLabels = decision?.gates.evidence?.code === 'performance_drop'
  const ok = distinct.size === 1 && records.requestMessages.length === 1 && mine.length === 1 && perf.length > 0 && byLabels
  return {
    phase: 'concept_drift',
    expectation: 'a performance drop on mature labels; exactly one retrain request, for this episode',
    ok,
    detail:
      `${perf.length} labeled performance alerts (${perf.map((a) => `${a.subject} [${a.segment}] ${a.observed.toFixed(3)} vs ${a.expected.toFixed(3)}`).join('; ') || 'none'}); ` +
      `${distinct.size} distinct requests in total (${records.requestMessages.length} messages on the topic), ${mine.length} for this phase's episodes` +
      (decision ? `; evidence gate: ${decision.gates.evidence?.code}` : ''),
  }
}

export function checkColdStart(records: RunRecords, c: CheckContext): OutcomeCheck {
  const p = phase(c, 'new_users')
  const alerts = records.alerts.filter((a) => c.coldStart.includes(a.segment) && a.first_seen >= p.from - c.windowSizeMs)
  const episodes = coldStartEpisodes(records, c.coldStart)
  const decisions = decisionsOf(records, episodes)
  const hinted = records.decisions.filter((d) => d.deciding_gate === 'segment' && d.decision === 'hold')
  const ok = alerts.length > 0 && hinted.length > 0 && decisions.every((d) => d.decision !== 'retrain') && episodes.every((e) => !e.request_id)
  return {
    phase: 'new_users',
    expectation: 'a segment hint (hold by the segment gate) for the cold-start segment, no global retrain for it',
    ok,
    detail: `${alerts.length} alerts on ${c.coldStart.join(', ')} (${[...new Set(alerts.map((a) => `${a.kind}/${a.subject}`))].join(', ') || 'none'}); ${episodes.length} cold-start episodes, decisions: ${count(decisions)}; segment-gate holds overall: ${hinted.length} (${[...new Set(hinted.map((d) => d.deciding_code))].join(', ') || 'none'})`,
  }
}

export function checkOutcomes(records: RunRecords, c: CheckContext): OutcomeCheck[] {
  return [checkUpstreamBreak(records, c), checkColdStart(records, c), checkBlackFriday(records, c), checkConceptDrift(records, c)]
}
