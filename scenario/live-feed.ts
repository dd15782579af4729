import type { Admin, Kafka } from 'kafkajs'
import type { ClickHouse } from '../services/shared/clickhouse/client.ts'
import { consumerLag } from '../services/shared/kafka/consumer-lag.ts'
import type { MonitorTrigger } from '../services/shared/events/types.ts'
import { alertEventsSince, decisionsAfter } from './store/scenario-queries.ts'

// What the main job shows while it plays: a status line (simulated time, events produced,
// consumer lag) and, above it, one line per alert that fires or resolves and per policy decision
// that differs from the previous one of its episode. Both come from ClickHouse, where the monitor
// and the policy service record them (alert_events, policy_decisions), read every second.

export const simTime = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ')

/** Writes lines above a status line that is redrawn in place on a terminal (and printed now and then otherwise). */
export class Terminal {
  private statusText = ''
  private lastPlain = 0
  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly quiet = false,
  ) {}

  line(text: string): void {
    if (this.quiet) return
    if (this.out.isTTY && this.statusText) this.out.write(`\r\x1b[2K${text}\n${this.statusText}`)
    else this.out.write(`${text}\n`)
  }

  status(text: string): void {
    if (this.quiet) return
    this.statusText = text
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${text}`)
    else if (Date.now() - this.lastPlain > 15_000) {
      this.lastPlain = Date.now()
      this.out.write(`${text}\n`)
    }
  }

  /** Ends the status line (before the summary). */
  done(): void {
    if (this.out.isTTY && this.statusText && !this.quiet) this.out.write('\n')
    this.statusText = ''
  }
}

/** Simulated time against wall-clock time, recorded as the player goes, to stamp events published in between. */
export class SimulatedClock {
  private readonly marks: { wall: number; sim: number }[] = []

  constructor(private current: number) {}

  get now(): number {
    return this.current
  }

  advance(sim: number): void {
    this.current = sim
    this.marks.push({ wall: Date.now(), sim })
  }

  /** Simulated time at wall-clock `wallMs`: the latest mark at or before it. */
  at(wallMs: number): number {
    let lo = 0
    let hi = this.marks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.marks[mid]!.wall <= wallMs) lo = mid + 1
      else hi = mid
    }
    return lo > 0 ? this.marks[lo - 1]!.sim : (this.marks[0]?.sim ?? this.current)
  }
}

/** Consumer-group lag (records behind the committed offsets), on one admin connection for the run. */
export class LagProbe {
  private readonly admin: Admin
  private connected: Promise<void> | null = null

  constructor(kafka: Kafka) {
    this.admin = kafka.admin()
  }

  /** Records the group has not committed yet over the topics; null when it cannot be told. */
  async lag(groupId: string, topics: string[]): Promise<number | null> {
    try {
      this.connected ??= this.admin.connect()
      await this.connected
      return await consumerLag(this.admin, groupId, topics)
    } catch {
      return null
    }
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect()
  }
}

const short = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

/** One line per alert transition; `now` is the simulated time it is seen at, the windows say what it is about. */
export function alertLine(t: MonitorTrigger, now: number): string {
  const what = `${t.kind}/${t.subject}`.padEnd(30)
  const where = `[${t.segment}]`.padEnd(19)
  const windows = `windows ${simTime(t.first_seen)} .. ${simTime(t.last_seen + t.window_size_ms)}`
  if (t.status === 'resolved') return `  ${simTime(now)}  RESOLVED  ${what} ${where} ${windows}`
  const evidence = t.evidence
    .slice(0, 3)
    .map((e) => e.name)
    .join(', ')
  const coverage = t.label_coverage === null ? '' : `, label coverage ${Math.round(t.label_coverage * 100)}%`
  const fmt = (x: number): string => String(Number(x.toPrecision(3)))
  return `  ${simTime(now)}  ALERT     ${what} ${where} ${t.severity.padEnd(8)} ${fmt(t.observed)} vs ${fmt(t.expected)}${coverage}${evidence ? ` (${evidence})` : ''}  ${windows}`
}

/** Tails the monitor's alert transitions and the policy's decisions for one model. */
export class LiveFeed {
  private readonly seenTransitions = new Set<string>()
  private readonly firedAlerts = new Set<string>()
  private readonly resolvedAlerts = new Set<string>()
  private readonly alertNames = new Map<string, string>()
  private readonly lastByEpisode = new Map<string, string>()
  private readonly repeats = new Map<string, number>()
  private lastEmitted = 0
  private lastVersion = 0
  alerts = 0
  decisions = 0

  constructor(
    private readonly ch: ClickHouse,
    private readonly modelId: string,
    private readonly print: (line: string) => void,
    /** Simulated time at a wall-clock time (alert lines are stamped with the time they were published). */
    private readonly simAt: (wallMs: number) => number,
  ) {}

  async poll(): Promise<void> {
    await this.pollAlerts()
    await this.pollDecisions()
  }

  private async pollAlerts(): Promise<void> {
    const rows = await alertEventsSince(this.ch, this.modelId, Math.max(0, this.lastEmitted - 10_000))
    for (const row of rows) {
      this.lastEmitted = Math.max(this.lastEmitted, Number(row.emitted_at))
      const t = JSON.parse(row.trigger_json) as MonitorTrigger
      const key = `${t.alert_id}|${t.status}|${t.last_seen}`
      if (this.seenTransitions.has(key)) continue
      this.seenTransitions.add(key)
      this.alertNames.set(t.alert_id, `${t.kind}/${t.subject} [${t.segment}]`)
      // Updates of a firing alert (one more window with the finding) and later restatements of a
      // resolution (re-evaluated windows move its last window) are not printed.
      const seen = t.status === 'firing' ? this.firedAlerts : this.resolvedAlerts
      if (seen.has(t.alert_id)) continue
      seen.add(t.alert_id)
      this.alerts++
      this.print(alertLine(t, this.simAt(Number(row.emitted_at))))
    }
  }

  private async pollDecisions(): Promise<void> {
    const rows = await decisionsAfter(this.ch, this.modelId, this.lastVersion)
    for (const d of rows) {
      this.lastVersion = Math.max(this.lastVersion, Number(d.version))
      this.decisions++
      // One line per change of an episode's answer; repeats are counted on the next line.
      const answer = `${d.decision}|${d.deciding_code}|${d.request_id ? 'request' : ''}`
      if (this.lastByEpisode.get(d.episode_id) === answer) {
        this.repeats.set(d.episode_id, (this.repeats.get(d.episode_id) ?? 0) + 1)
        continue
      }
      this.lastByEpisode.set(d.episode_id, answer)
      const repeated = this.repeats.get(d.episode_id) ?? 0
      this.repeats.set(d.episode_id, 0)
      const gate = d.deciding_gate ? `${d.deciding_gate}/${d.deciding_code}` : 'every gate passed'
      const message = d.deciding_gate ? (d.reason_messages[d.reason_gates.indexOf(d.deciding_gate)] ?? '') : ''
      const about = this.alertNames.get(d.trigger_alert_id) ?? d.trigger_alert_id.slice(0, 8)
      const request = d.request_id ? `  RETRAIN REQUEST ${d.request_id.slice(0, 12)}` : ''
      this.print(
        `  ${simTime(Number(d.decided_at))}  DECISION  ${d.decision.toUpperCase().padEnd(11)} ${gate}  episode ${d.episode_id.slice(0, 8)} on ${about}${repeated ? ` (previous answer repeated ${repeated}x)` : ''}${request}${message ? `\n                      ${short(message, 220)}` : ''}`,
      )
    }
  }
}
