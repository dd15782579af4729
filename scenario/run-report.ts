import type { Kafka } from 'kafkajs'
import type { ClickHouse } from '../services/shared/clickhouse/client.ts'
import { readTopic } from '../services/shared/kafka/read-topic.ts'
import type { ConsumedRecord } from '../services/shared/kafka/records.ts'
import { REQUEST_ID_HEADER } from '../services/policy/run/request-emitter.ts'
import { simTime } from './live-feed.ts'
import type { AlertRecord, CheckContext, DecisionRecord, EpisodeRecord, OutcomeCheck, RunRecords } from './outcome-checks.ts'
import type { ScenarioPhase } from './scenario.ts'
import { readRunRows, type StoredRunRows } from './store/scenario-queries.ts'

// The end of a run: what the monitor and the policy recorded, read back from ClickHouse (FINAL,
// the latest state of each row) and from the retrain-requests topic, and the summary printed
// from it.

export async function loadRunRecords(ch: ClickHouse, kafka: Kafka, modelId: string, requestsTopic: string, since: Map<number, bigint>): Promise<RunRecords> {
  const { alerts, episodes, decisions, requests } = await readRunRows(ch, modelId)
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(requestsTopic).finally(() => admin.disconnect())
  const fresh = ends.reduce((s, p) => s + Number(BigInt(p.high) - (since.get(p.partition) ?? 0n)), 0)
  const messages = fresh > 0 ? await readTopic(kafka, requestsTopic, { toEnd: true, timeoutMs: 15_000 }) : []
  return runRecordsFrom({ alerts, episodes, decisions, requests }, messages, modelId, since)
}

/**
 * The run's records from the stored rows and the retrain-requests topic: only messages of this
 * model at or after `since` (the topic's end offsets when the run started) are this run's.
 */
export function runRecordsFrom(rows: StoredRunRows, messages: ConsumedRecord[], modelId: string, since: Map<number, bigint>): RunRecords {
  return {
    alerts: rows.alerts.map((a) => ({
      ...a,
      first_seen: Number(a.first_seen),
      last_seen: Number(a.last_seen),
      window_size_ms: Number(a.window_size_ms),
      estimated: Boolean(a.estimated),
    })),
    episodes: rows.episodes.map((e): EpisodeRecord => ({
      episode_id: e.episode_id,
      change_point: Number(e.change_point),
      status: e.status,
      request_id: e.request_id,
      alert_ids: Object.keys(JSON.parse(e.alerts_json) as Record<string, unknown>),
    })),
    decisions: rows.decisions.map((d): DecisionRecord => ({
      decision_id: d.decision_id,
      episode_id: d.episode_id,
      decision: d.decision,
      deciding_gate: d.deciding_gate,
      deciding_code: d.deciding_code,
      gates: Object.fromEntries(
        d.reason_gates.map((g, i) => [g, { verdict: d.reason_verdicts[i] ?? '', code: d.reason_codes[i] ?? '', message: d.reason_messages[i] ?? '' }]),
      ),
      trigger_alert_id: d.trigger_alert_id,
      decided_at: Number(d.decided_at),
      request_id: d.request_id,
    })),
    requests: rows.requests.map((r) => ({
      ...r,
      requested_at: Number(r.requested_at),
      training_data_from: Number(r.training_data_from),
      training_data_to: Number(r.training_data_to),
    })),
    requestMessages: messages
      .filter((m) => BigInt(m.offset) >= (since.get(m.partition) ?? 0n) && m.key?.toString('utf8') === modelId)
      .map((m) => m.headers[REQUEST_ID_HEADER] ?? ''),
  }
}

export interface RunStats {
  wallMs: number
  predictions: number
  labels: number
  start: number
  end: number
  catchUpMs: number
}

const ORDER: ScenarioPhase['name'][] = ['upstream_break', 'black_friday', 'concept_drift']

/** The phase an alert belongs to: the short phases it started in first, then the cold start by segment. */
export function phaseOf(alert: AlertRecord, c: CheckContext): string {
  for (const name of ORDER) {
    const p = c.phases.find((x) => x.name === name)!
    if (alert.first_seen >= p.from - c.windowSizeMs && alert.first_seen < p.to) return name
  }
  if (c.coldStart.includes(alert.segment)) return 'new_users'
  return 'other'
}

const seconds = (ms: number): string =>
  ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s` : `${(ms / 1000).toFixed(1)}s`

function tally(decisions: DecisionRecord[]): string {
  const by = new Map<string, number>()
  for (const d of decisions) {
    const key = `${d.decision}${d.deciding_gate ? ` (${d.deciding_gate}/${d.deciding_code})` : ''}`
    by.set(key, (by.get(key) ?? 0) + 1)
  }
  return [...by].map(([k, n]) => `${n}x ${k}`).join(', ')
}

export function formatSummary(records: RunRecords, checks: OutcomeCheck[], c: CheckContext, stats: RunStats, interrupted = false): string[] {
  const out: string[] = []
  const rate = Math.round(((stats.predictions + stats.labels) / stats.wallMs) * 1000)
  out.push('', '== Summary ==')
  out.push(
    `Played ${simTime(stats.start).slice(0, 10)} .. ${simTime(stats.end).slice(0, 10)} (${Math.round((stats.end - stats.start) / 86_400_000)} simulated days) in ${seconds(stats.wallMs)}: ` +
      `${stats.predictions.toLocaleString('en')} predictions and ${stats.labels.toLocaleString('en')} labels (${rate.toLocaleString('en')} events/s); the monitor caught up ${seconds(stats.catchUpMs)} after the last event.`,
  )
  out.push('', 'Phases')
  for (const p of c.phases) out.push(`  ${p.name.padEnd(15)} ${simTime(p.from)} .. ${simTime(p.to)}  ${p.description}`)

  out.push('', 'What the monitor detected (alerts by the phase they started in)')
  const groups = new Map<string, AlertRecord[]>()
  for (const a of records.alerts) groups.set(phaseOf(a, c), [...(groups.get(phaseOf(a, c)) ?? []), a])
  for (const name of [...c.phases.map((p) => p.name as string), 'other']) {
    const list = groups.get(name)
    if (!list?.length) continue
    out.push(`  ${name}`)
    for (const a of list) {
      const cov = a.label_coverage === null ? '' : ` coverage ${Math.round(a.label_coverage * 100)}%`
      const evidence = a.evidence_names.length ? ` (${a.evidence_names.slice(0, 4).join(', ')})` : ''
      out.push(
        `    ${`${a.kind}/${a.subject}`.padEnd(30)} [${a.segment}]`.padEnd(53) +
          ` ${a.severity.padEnd(8)} windows ${simTime(a.first_seen)} .. ${simTime(a.last_seen)}  ${a.status.padEnd(8)} ${Number(a.observed.toPrecision(3))} vs ${Number(a.expected.toPrecision(3))}${cov}${evidence}`,
      )
    }
  }

  out.push('', 'What the policy decided (episodes by change point)')
  const alertsById = new Map(records.alerts.map((a) => [a.alert_id, a]))
  for (const e of records.episodes) {
    const decisions = records.decisions.filter((d) => d.episode_id === e.episode_id)
    const alerts = e.alert_ids.map((id) => alertsById.get(id)).filter((a): a is AlertRecord => !!a)
    const names = [...new Set(alerts.map((a) => `${a.kind}/${a.subject} [${a.segment}]`))]
    out.push(
      `  episode ${e.episode_id.slice(0, 8)}  change point ${simTime(e.change_point)}  ${e.status}${e.request_id ? `  RETRAIN REQUESTED (${e.request_id.slice(0, 12)})` : ''}`,
    )
    out.push(`    alerts: ${names.slice(0, 6).join(', ')}${names.length > 6 ? `, +${names.length - 6} more` : ''}`)
    out.push(`    decisions: ${tally(decisions) || 'none (no firing trigger decided)'}`)
    // The reason behind each distinct answer, once.
    const seen = new Set<string>()
    for (const d of decisions) {
      const key = `${d.decision}|${d.deciding_code}`
      if (seen.has(key)) continue
      seen.add(key)
      const why = d.deciding_gate ? d.gates[d.deciding_gate]?.message : 'every gate passed'
      out.push(`      ${d.decision} (${simTime(d.decided_at)}): ${why}`)
    }
  }
  out.push('', `Retrain requests: ${records.requests.length} in ClickHouse, ${records.requestMessages.length} messages on the retrain-requests topic`)
  for (const r of records.requests)
    out.push(
      `  ${r.request_id.slice(0, 12)}  episode ${r.episode_id.slice(0, 8)}  requested ${simTime(r.requested_at)}  training data ${simTime(r.training_data_from)} .. ${simTime(r.training_data_to)}  ${r.status}`,
    )

  if (interrupted) {
    out.push('', 'Interrupted before the end of the scenario: expected outcomes not judged.')
    return out
  }
  out.push('', 'Expected outcomes')
  for (const check of checks) out.push(`  ${check.ok ? 'PASS' : 'FAIL'}  ${check.phase}: ${check.expectation}`, `        ${check.detail}`)
  const failed = checks.filter((x) => !x.ok)
  out.push(
    '',
    failed.length === 0
      ? 'All expected outcomes met.'
      : `${failed.length} of ${checks.length} expected outcomes NOT met: ${failed.map((x) => x.phase).join(', ')}.`,
  )
  return out
}
