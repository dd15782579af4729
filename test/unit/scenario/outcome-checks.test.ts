import { describe, expect, it } from 'vitest'
import {
  alertsIn,
  checkBlackFriday,
  checkColdStart,
  checkConceptDrift,
  checkOutcomes,
  checkUpstreamBreak,
  coldStartEpisodes,
  episodesIn,
  type AlertRecord,
  type CheckContext,
  type DecisionRecord,
  type OutcomeCheck,
  type RunRecords,
} from '../../../scenario/outcome-checks.ts'
import { formatSummary, phaseOf, runRecordsFrom, type RunStats } from '../../../scenario/run-report.ts'
import type { StoredRunRows } from '../../../scenario/store/scenario-queries.ts'
import { scenarioPhases } from '../../../scenario/scenario.ts'
import { REQUEST_ID_HEADER } from '../../../services/policy/run/request-emitter.ts'
import type { ConsumedRecord } from '../../../services/shared/kafka/records.ts'

// The expected outcomes of the main job, judged on hand-made run records: a run that did what
// docs/scenario.md says passes all four checks, and taking away (or spoiling) one expected outcome
// fails that check alone.

const H = 3_600_000
const D = 24 * H
const SIZE = 6 * H
const utc = (iso: string): number => Date.parse(`${iso}Z`)
const COLD = 'new_entity=true'
const context: CheckContext = { phases: scenarioPhases(42), windowSizeMs: SIZE, coldStart: [COLD] }

// Phase dates of the 42-day run, by hand (docs/scenario.md table).
const BREAK = utc('2025-11-17T00:00')
const NEW_USERS = utc('2025-11-21T00:00')
const BF = utc('2025-11-28T00:00')
const DRIFT = utc('2025-12-07T00:00')

function alert(alert_id: string, kind: string, subject: string, segment: string, first_seen: number, over: Partial<AlertRecord> = {}): AlertRecord {
  return {
    alert_id,
    kind,
    subject,
    segment,
    severity: 'critical',
    status: 'resolved',
    first_seen,
    last_seen: first_seen + SIZE,
    window_size_ms: SIZE,
    observed: 0.7,
    expected: 0.9,
    label_coverage: null,
    estimated: false,
    evidence_names: [],
    ...over,
  }
}

function decision(
  decision_id: string,
  episode_id: string,
  answer: string,
  gate: string,
  code: string,
  decided_at: number,
  over: Partial<DecisionRecord> = {},
): DecisionRecord {
  const gates: DecisionRecord['gates'] = { known_event: { verdict: 'pass', code: 'no_known_event', message: '' } }
  if (gate) gates[gate] = { verdict: answer, code, message: `${gate} says ${answer}` }
  return {
    decision_id,
    episode_id,
    decision: answer,
    deciding_gate: gate,
    deciding_code: code,
    gates,
    trigger_alert_id: '',
    decided_at,
    request_id: '',
    ...over,
  }
}

/** What a run that met every expectation recorded. */
function goodRun(): RunRecords {
  return {
    alerts: [
      alert('a-null', 'data_quality', 'null_rate', 'all', BREAK, { evidence_names: ['income'] }),
      alert('a-break-drift', 'drift', 'features', 'all', BREAK, { evidence_names: ['debt_ratio'] }),
      alert('a-cold-drift', 'drift', 'features', COLD, NEW_USERS + D),
      alert('a-cold-perf', 'performance', 'accuracy', COLD, NEW_USERS + 2 * D, { label_coverage: 0.7 }),
      alert('a-bf-drift', 'drift', 'features', 'all', BF),
      alert('a-bf-perf', 'performance', 'accuracy', 'all', BF, { label_coverage: 0.74 }),
      alert('a-drift-perf', 'performance', 'accuracy', 'all', DRIFT, { observed: 0.68, expected: 0.905, label_coverage: 0.6 }),
    ],
    episodes: [
      { episode_id: 'e-break', change_point: BREAK, status: 'closed', request_id: '', alert_ids: ['a-null', 'a-break-drift'] },
      { episode_id: 'e-cold', change_point: NEW_USERS + D, status: 'open', request_id: '', alert_ids: ['a-cold-drift', 'a-cold-perf'] },
      { episode_id: 'e-bf', change_point: BF, status: 'closed', request_id: '', alert_ids: ['a-bf-drift', 'a-bf-perf'] },
      { episode_id: 'e-drift', change_point: DRIFT, status: 'open', request_id: 'r-1', alert_ids: ['a-drift-perf'] },
    ],
    decisions: [
      decision('d-break', 'e-break', 'investigate', 'root_cause', 'concurrent_data_quality_alert', BREAK + D),
      decision('d-cold', 'e-cold', 'hold', 'segment', 'cold_start_segment_drift', NEW_USERS + 2 * D),
      decision('d-bf-1', 'e-bf', 'hold', 'label_maturity', 'too_few_fresh_labels', BF + H, {
        gates: {
          known_event: { verdict: 'hold', code: 'known_event', message: 'Black Friday' },
          label_maturity: { verdict: 'hold', code: 'too_few_fresh_labels', message: '' },
        },
      }),
      decision('d-bf-2', 'e-bf', 'hold', 'known_event', 'known_event', BF + 4 * D, {
        gates: { known_event: { verdict: 'hold', code: 'known_event', message: 'Black Friday' } },
      }),
      decision('d-drift-1', 'e-drift', 'suppress', 'persistence', 'not_persistent', DRIFT + 4 * D),
      decision('d-drift-2', 'e-drift', 'retrain', '', '', DRIFT + 4 * D + H, {
        request_id: 'r-1',
        gates: { evidence: { verdict: 'pass', code: 'performance_drop', message: 'labeled accuracy dropped' } },
      }),
    ],
    requests: [
      {
        request_id: 'r-1',
        episode_id: 'e-drift',
        decision_id: 'd-drift-2',
        requested_at: DRIFT + 4 * D + H,
        training_data_from: DRIFT,
        training_data_to: DRIFT + 4 * D,
        status: 'produced',
      },
    ],
    requestMessages: ['r-1'],
  }
}

/** A copy of the good run with one change made to it. */
function spoiled(change: (r: RunRecords) => void): RunRecords {
  const r = structuredClone(goodRun())
  change(r)
  return r
}

const verdicts = (checks: OutcomeCheck[]): Record<string, boolean> => Object.fromEntries(checks.map((c) => [c.phase, c.ok]))
const ALL_OK = { upstream_break: true, new_users: true, black_friday: true, concept_drift: true }
const decisionOf = (r: RunRecords, id: string): DecisionRecord => r.decisions.find((d) => d.decision_id === id)!

describe('expected outcomes', () => {
  it('a run that did what docs/scenario.md says passes all four, in the order upstream break, new users, Black Friday, concept drift', () => {
    const checks = checkOutcomes(goodRun(), context)
    expect(checks.map((c) => c.phase)).toEqual(['upstream_break', 'new_users', 'black_friday', 'concept_drift'])
    expect(verdicts(checks)).toEqual(ALL_OK)
    expect(checks[0]!.detail).toBe(
      '1 data_quality alerts (null_rate), 1 drift alerts (drift/features); decisions: 1x investigate (root_cause/concurrent_data_quality_alert)',
    )
    expect(checks[3]!.detail).toContain('1 distinct requests in total (1 messages on the topic), 1 for this phase')
  })

  it.each<[string, (r: RunRecords) => void]>([
    ['no data_quality alert', (r) => void (r.alerts = r.alerts.filter((a) => a.kind !== 'data_quality'))],
    ['no drift beside it', (r) => void (r.alerts = r.alerts.filter((a) => a.alert_id !== 'a-break-drift'))],
    [
      'not investigated by the root-cause gate',
      (r) => Object.assign(decisionOf(r, 'd-break'), { decision: 'hold', deciding_gate: 'persistence', deciding_code: 'not_persistent' }),
    ],
    ['a retrain among the decisions', (r) => r.decisions.push(decision('d-break-2', 'e-break', 'retrain', '', '', BREAK + 2 * D))],
    ['a retrain request', (r) => void (decisionOf(r, 'd-break').request_id = 'r-9')],
    ['the data-quality alert a window too early to count', (r) => void r.alerts.forEach((a) => a.first_seen === BREAK && (a.first_seen = BREAK - SIZE - 1))],
  ])('upstream break fails alone with %s', (_what, change) => {
    expect(verdicts(checkOutcomes(spoiled(change), context))).toEqual({ ...ALL_OK, upstream_break: false })
  })

  it.each<[string, (r: RunRecords) => void]>([
    ['no alert on the cold-start segment', (r) => void (r.alerts = r.alerts.filter((a) => a.segment !== COLD))],
    ['no hold by the segment gate', (r) => Object.assign(decisionOf(r, 'd-cold'), { deciding_gate: 'persistence', deciding_code: 'not_persistent' })],
    ['a retrain of the cold-start episode', (r) => r.decisions.push(decision('d-cold-2', 'e-cold', 'retrain', '', '', NEW_USERS + 5 * D))],
    ['a request for the cold-start episode', (r) => void (r.episodes.find((e) => e.episode_id === 'e-cold')!.request_id = 'r-7')],
  ])('new users fails alone with %s', (_what, change) => {
    expect(verdicts(checkOutcomes(spoiled(change), context))).toEqual({ ...ALL_OK, new_users: false })
  })

  it.each<[string, (r: RunRecords) => void]>([
    ['no alert on the day', (r) => void (r.alerts = r.alerts.filter((a) => !a.alert_id.startsWith('a-bf')))],
    ['no decision for its episode', (r) => void (r.decisions = r.decisions.filter((d) => d.episode_id !== 'e-bf'))],
    ['no decision by the calendar', (r) => void (r.decisions = r.decisions.filter((d) => d.decision_id !== 'd-bf-2'))],
    [
      'a decision the calendar did not hold',
      (r) => void (decisionOf(r, 'd-bf-1').gates.known_event = { verdict: 'pass', code: 'no_known_event', message: '' }),
    ],
    ['an answer other than hold', (r) => void (decisionOf(r, 'd-bf-2').decision = 'investigate')],
  ])('Black Friday fails alone with %s', (_what, change) => {
    expect(verdicts(checkOutcomes(spoiled(change), context))).toEqual({ ...ALL_OK, black_friday: false })
  })

  it('alerts of the cold-start segment on Black Friday do not count as Black Friday alerts', () => {
    const r = spoiled((x) => {
      x.alerts = x.alerts.filter((a) => !a.alert_id.startsWith('a-bf'))
      x.alerts.push(alert('a-bf-cold', 'drift', 'features', COLD, BF))
    })
    expect(checkBlackFriday(r, context).ok).toBe(false)
  })

  it.each<[string, (r: RunRecords) => void]>([
    ['no request at all', (r) => void ((r.requests = []), (r.requestMessages = []))],
    ['a request in ClickHouse that never reached the topic', (r) => void (r.requestMessages = [])],
    ['the request sent twice', (r) => void (r.requestMessages = ['r-1', 'r-1'])],
    ['a second request', (r) => void (r.requests.push({ ...r.requests[0]!, request_id: 'r-2', decision_id: 'd-x' }), r.requestMessages.push('r-2'))],
    ['the request for an episode outside the phase', (r) => void (r.requests[0]!.episode_id = 'e-bf')],
    ['a request not backed by a labeled drop', (r) => void (decisionOf(r, 'd-drift-2').gates.evidence!.code = 'estimated_drop')],
    ['only an estimated (unlabeled) performance alert', (r) => void (r.alerts.find((a) => a.alert_id === 'a-drift-perf')!.estimated = true)],
    ['a drift alert instead of a performance one', (r) => void (r.alerts.find((a) => a.alert_id === 'a-drift-perf')!.kind = 'drift')],
  ])('concept drift fails alone with %s', (_what, change) => {
    expect(verdicts(checkOutcomes(spoiled(change), context))).toEqual({ ...ALL_OK, concept_drift: false })
  })

  it('a run that recorded nothing fails every check', () => {
    const empty: RunRecords = { alerts: [], episodes: [], decisions: [], requests: [], requestMessages: [] }
    expect(checkOutcomes(empty, context).map((c) => c.ok)).toEqual([false, false, false, false])
    expect(checkUpstreamBreak(empty, context).detail).toBe('0 data_quality alerts (none), 0 drift alerts (none); decisions: no decisions')
    expect(checkColdStart(empty, context).ok).toBe(false)
    expect(checkConceptDrift(empty, context).detail).toContain('0 labeled performance alerts (none)')
  })
})

describe('phase membership', () => {
  const phase = { name: 'black_friday' as const, from: BF, to: BF + D, description: '' }
  const only = (first_seen: number): RunRecords => ({
    alerts: [alert('a', 'drift', 'features', 'all', first_seen)],
    episodes: [],
    decisions: [],
    requests: [],
    requestMessages: [],
  })

  it('an alert counts from one window before the phase (alignment) up to its end, exclusive', () => {
    expect(alertsIn(only(BF - SIZE), phase, SIZE)).toHaveLength(1)
    expect(alertsIn(only(BF - SIZE - 1), phase, SIZE)).toHaveLength(0)
    expect(alertsIn(only(BF + D - 1), phase, SIZE)).toHaveLength(1)
    expect(alertsIn(only(BF + D), phase, SIZE)).toHaveLength(0)
  })

  it('cold-start episodes are those made only of cold-start alerts, and never count for another phase', () => {
    const r = goodRun()
    r.episodes.push({ episode_id: 'e-mixed', change_point: BF, status: 'open', request_id: '', alert_ids: ['a-cold-drift', 'a-bf-drift'] })
    r.episodes.push({ episode_id: 'e-empty', change_point: BF, status: 'open', request_id: '', alert_ids: [] })
    r.episodes.push({ episode_id: 'e-cold-bf', change_point: BF, status: 'open', request_id: '', alert_ids: ['a-cold-perf'] })
    expect(coldStartEpisodes(r, [COLD]).map((e) => e.episode_id)).toEqual(['e-cold', 'e-cold-bf'])
    const bf = context.phases.find((p) => p.name === 'black_friday')!
    expect(episodesIn(r, bf, context).map((e) => e.episode_id)).toEqual(['e-bf', 'e-mixed', 'e-empty'])
  })

  it('the summary files an alert under the short phase it started in first, then the cold start by segment, else other', () => {
    expect(phaseOf(alert('x', 'drift', 'features', 'all', BREAK + H), context)).toBe('upstream_break')
    expect(phaseOf(alert('x', 'drift', 'features', COLD, BF + H), context)).toBe('black_friday')
    expect(phaseOf(alert('x', 'drift', 'features', COLD, BF + 3 * D), context)).toBe('new_users')
    expect(phaseOf(alert('x', 'performance', 'accuracy', 'all', DRIFT + D), context)).toBe('concept_drift')
    expect(phaseOf(alert('x', 'anomaly', 'volume', 'all', BREAK - 5 * D), context)).toBe('other')
  })
})

describe('run records and summary', () => {
  it('turns the stored rows into records: 64-bit numbers from strings, flags, episode alert ids, gates by name', () => {
    const rows: StoredRunRows = {
      alerts: [
        {
          ...alert('a-1', 'drift', 'features', 'all', 0),
          first_seen: '1763337600000' as unknown as number,
          last_seen: '1763359200000' as unknown as number,
          window_size_ms: '21600000' as unknown as number,
          estimated: 1,
        },
      ],
      episodes: [
        {
          episode_id: 'e-1',
          change_point: '1763337600000' as unknown as number,
          status: 'open',
          request_id: '',
          alerts_json: '{"a-1":{"status":"firing"},"a-2":{}}',
        },
      ],
      decisions: [
        {
          decision_id: 'd-1',
          episode_id: 'e-1',
          decision: 'hold',
          deciding_gate: 'known_event',
          deciding_code: 'known_event',
          reason_gates: ['root_cause', 'known_event'],
          reason_verdicts: ['pass', 'hold'],
          reason_codes: ['no_root_cause', 'known_event'],
          reason_messages: ['nothing upstream', 'Black Friday'],
          trigger_alert_id: 'a-1',
          decided_at: '1763341200000' as unknown as number,
          request_id: '',
        },
      ],
      requests: [
        {
          request_id: 'r-1',
          episode_id: 'e-1',
          decision_id: 'd-1',
          requested_at: '5' as unknown as number,
          training_data_from: '1' as unknown as number,
          training_data_to: '2' as unknown as number,
          status: 'produced',
        },
      ],
    }
    const records = runRecordsFrom(rows, [], 'credit-default', new Map())
    expect(records.alerts[0]).toMatchObject({ first_seen: utc('2025-11-17T00:00'), last_seen: utc('2025-11-17T06:00'), window_size_ms: SIZE, estimated: true })
    expect(records.episodes).toEqual([{ episode_id: 'e-1', change_point: utc('2025-11-17T00:00'), status: 'open', request_id: '', alert_ids: ['a-1', 'a-2'] }])
    expect(records.decisions[0]!.gates).toEqual({
      root_cause: { verdict: 'pass', code: 'no_root_cause', message: 'nothing upstream' },
      known_event: { verdict: 'hold', code: 'known_event', message: 'Black Friday' },
    })
    expect(records.decisions[0]!.decided_at).toBe(utc('2025-11-17T01:00'))
    expect(records.requests[0]).toMatchObject({ requested_at: 5, training_data_from: 1, training_data_to: 2 })
  })

  it("counts only this run's request messages of this model: from the end offsets at the start, keyed by the model", () => {
    const message = (partition: number, offset: number, key: string, id: string): ConsumedRecord => ({
      topic: 'retrain-requests',
      partition,
      offset: String(offset),
      key: Buffer.from(key),
      value: null,
      timestamp: 0,
      headers: { [REQUEST_ID_HEADER]: id },
    })
    const empty: StoredRunRows = { alerts: [], episodes: [], decisions: [], requests: [] }
    const since = new Map([
      [0, 5n],
      [1, 0n],
    ])
    const messages = [
      message(0, 4, 'credit-default', 'old'),
      message(0, 5, 'credit-default', 'new-0'),
      message(1, 0, 'credit-default', 'new-1'),
      message(1, 1, 'other-model', 'theirs'),
      message(2, 0, 'credit-default', 'new-2'),
    ]
    expect(runRecordsFrom(empty, messages, 'credit-default', since).requestMessages).toEqual(['new-0', 'new-1', 'new-2'])
  })

  const stats: RunStats = {
    wallMs: 138_000,
    predictions: 168_549,
    labels: 150_153,
    start: utc('2025-11-07T00:00'),
    end: utc('2025-12-19T00:00'),
    catchUpMs: 4_200,
  }

  it('prints the run, the phases, alerts by phase, episodes with their reasons, requests and a PASS line per outcome', () => {
    const records = goodRun()
    const lines = formatSummary(records, checkOutcomes(records, context), context, stats)
    expect(lines).toContain('== Summary ==')
    // 318,702 events in 138 s: 2,309 a second.
    expect(lines).toContain(
      'Played 2025-11-07 .. 2025-12-19 (42 simulated days) in 2m18s: 168,549 predictions and 150,153 labels (2,309 events/s); the monitor caught up 4.2s after the last event.',
    )
    expect(lines.filter((l) => /^ {2}(baseline|upstream_break|new_users|black_friday|concept_drift) /.test(l))).toHaveLength(5)
    const detected = lines.slice(
      lines.indexOf('What the monitor detected (alerts by the phase they started in)'),
      lines.indexOf('What the policy decided (episodes by change point)'),
    )
    expect(detected.filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim())).toEqual(['upstream_break', 'new_users', 'black_friday', 'concept_drift'])
    expect(lines).toContain('  episode e-drift  change point 2025-12-07 00:00  open  RETRAIN REQUESTED (r-1)')
    expect(lines).toContain('    decisions: 1x suppress (persistence/not_persistent), 1x retrain')
    expect(lines).toContain('      retrain (2025-12-11 01:00): every gate passed')
    expect(lines).toContain('Retrain requests: 1 in ClickHouse, 1 messages on the retrain-requests topic')
    expect(lines.filter((l) => l.startsWith('  PASS  '))).toHaveLength(4)
    expect(lines.at(-1)).toBe('All expected outcomes met.')
  })

  it('names the outcomes not met, and judges none when the run was interrupted', () => {
    const records = spoiled((r) => void (r.requestMessages = ['r-1', 'r-1']))
    const checks = checkOutcomes(records, context)
    const lines = formatSummary(records, checks, context, stats)
    expect(lines.filter((l) => l.startsWith('  FAIL  '))).toEqual([
      '  FAIL  concept_drift: a performance drop on mature labels; exactly one retrain request, for this episode',
    ])
    expect(lines.at(-1)).toBe('1 of 4 expected outcomes NOT met: concept_drift.')
    const interrupted = formatSummary(records, checks, context, stats, true)
    expect(interrupted.at(-1)).toBe('Interrupted before the end of the scenario: expected outcomes not judged.')
    expect(interrupted.some((l) => /^ {2}(PASS|FAIL) /.test(l))).toBe(false)
  })
})
