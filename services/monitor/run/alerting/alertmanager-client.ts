import type { MonitorTrigger } from '../../../shared/events/types.ts'
import { ensureOk, type Receiver } from './receiver.ts'
import { runbookFor } from '../../core/alerts/runbooks.ts'

// Alerts to Prometheus Alertmanager through its v2 API. Alertmanager identifies an alert by its
// label set (the fingerprint), so the labels hold only the alert's identity and routing keys
// (alert_id makes one episode one alert); everything that changes between sends goes into the
// annotations.
//
// Timestamps:
// - startsAt is the trigger's first_seen (start of the episode's first window), never later than
//   now: a producer clock ahead of ours must not start an alert in the future.
// - A firing alert is sent with an explicit endsAt in the future, refreshed on every send.
//   Without one, Alertmanager marks the alert resolved after its resolve_timeout (5 minutes by
//   default) unless it is sent again, while the monitor sends a trigger only on transitions: a
//   window with a finding, or the resolution after a few clean windows. With hour or day windows
//   minutes would end a still-open episode. The TTL (default 24 hours, at least 4 windows) outlasts
//   the gap between two transitions, and still lets an alert whose resolution never arrived (the
//   delivery queue is in memory and lost in a crash) clear itself.
// - A resolved alert is sent with endsAt = the end of the last window with a finding, that is
//   last_seen + window_size_ms (last_seen is that window's start), clamped to [startsAt, now] so
//   that Alertmanager always sees it as ended.
//
// In Alertmanager 0.25 a resolved alert disappears from GET /api/v2/alerts at once (whatever the
// active/silenced/inhibited filters); receivers with send_resolved get the resolution.

/** One alert as POST /api/v2/alerts takes it (postableAlert). */
export interface AlertmanagerAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL?: string
}

/** One alert as GET /api/v2/alerts returns it (gettableAlert, the fields driftgate reads). */
export interface GettableAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  updatedAt: string
  fingerprint: string
  receivers: { name: string }[]
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] }
  generatorURL?: string
}

export const DEFAULT_FIRING_TTL_MS = 24 * 60 * 60 * 1000
/** A firing alert stays open for at least this many windows of its size without a new send. */
const TTL_WINDOWS = 4

export interface MappingOptions {
  /** Wall-clock time of the send (ms). */
  now: number
  /** How long a firing alert stays open without a new send (see the top of this file). */
  firingTtlMs?: number
  /** Link back to where the alert comes from (a dashboard, the CLI docs); optional. */
  generatorUrl?: string
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** Six significant digits, enough to read and stable across sends of the same number. */
export function formatNumber(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x)
}

function formatDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ]
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

/** The identity labels of a trigger: the same alert always has the same label set. Empty values are left out, as Alertmanager treats an empty label as absent. */
export function alertLabels(trigger: MonitorTrigger): Record<string, string> {
  const labels: Record<string, string> = {
    alertname: `driftgate_${trigger.kind}`,
    model_id: trigger.model_id,
    model_version: trigger.model_version,
    segment: trigger.segment,
    kind: trigger.kind,
    subject: trigger.subject,
    severity: trigger.severity,
    alert_id: trigger.alert_id,
  }
  for (const [name, value] of Object.entries(labels)) if (value === '') delete labels[name]
  return labels
}

export function alertAnnotations(trigger: MonitorTrigger): Record<string, string> {
  const annotations: Record<string, string> = {
    summary: trigger.summary,
    runbook: runbookFor(trigger.kind),
    evidence_query: trigger.evidence_query,
    observed: formatNumber(trigger.observed),
    expected: formatNumber(trigger.expected),
    threshold: formatNumber(trigger.threshold),
    window: `${iso(trigger.window_start)}/${iso(trigger.window_end)} (${formatDuration(trigger.window_size_ms)} window)`,
  }
  if (trigger.label_coverage != null) annotations.label_coverage = formatNumber(trigger.label_coverage)
  if (trigger.estimated) annotations.estimated = 'true'
  if (trigger.evidence.length > 0) {
    annotations.evidence = trigger.evidence
      .slice(0, 5)
      .map((e) => `${e.name}: ${formatNumber(e.score)}${e.detail ? ` (${e.detail})` : ''}`)
      .join('; ')
  }
  return annotations
}

/** Maps a trigger to the alert Alertmanager receives (timestamps as described at the top of this file). */
export function toAlertmanagerAlert(trigger: MonitorTrigger, options: MappingOptions): AlertmanagerAlert {
  const { now } = options
  const startsAt = Math.min(trigger.first_seen, now)
  const ttl = Math.max(options.firingTtlMs ?? DEFAULT_FIRING_TTL_MS, TTL_WINDOWS * trigger.window_size_ms)
  const endsAt = trigger.status === 'resolved' ? Math.max(startsAt, Math.min(trigger.last_seen + trigger.window_size_ms, now)) : now + ttl
  const alert: AlertmanagerAlert = {
    labels: alertLabels(trigger),
    annotations: alertAnnotations(trigger),
    startsAt: iso(startsAt),
    endsAt: iso(endsAt),
  }
  if (options.generatorUrl) alert.generatorURL = options.generatorUrl
  return alert
}

const labelKey = (labels: Record<string, string>): string =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  )

export interface AlertmanagerClientOptions {
  /** Base URL, e.g. http://127.0.0.1:9093 */
  url: string
  firingTtlMs?: number
  generatorUrl?: (trigger: MonitorTrigger) => string | undefined
  /** Episodes whose last label set is remembered (see send()). */
  rememberAlerts?: number
  fetch?: typeof fetch
  now?: () => number
}

interface Sent {
  labels: Record<string, string>
  startsAt: string
}

export class AlertmanagerClient implements Receiver {
  readonly name = 'alertmanager'
  private readonly base: string
  private readonly fetch: typeof fetch
  private readonly now: () => number
  /** alert_id -> label set last accepted, oldest first (bounded). */
  private readonly sent = new Map<string, Sent>()

  constructor(private readonly options: AlertmanagerClientOptions) {
    this.base = options.url.replace(/\/+$/, '')
    this.fetch = options.fetch ?? globalThis.fetch
    this.now = options.now ?? Date.now
  }

  /**
   * Posts the trigger's alert. A label can change within one episode (severity escalates,
   * a new model version takes over): Alertmanager would then hold two alerts, the old label set
   * firing until its TTL. So the client remembers the label set it last sent per alert_id
   * (bounded, in memory) and resolves the superseded one in the same request.
   */
  async send(trigger: MonitorTrigger, signal: AbortSignal): Promise<void> {
    const now = this.now()
    const alert = toAlertmanagerAlert(trigger, { now, firingTtlMs: this.options.firingTtlMs, generatorUrl: this.options.generatorUrl?.(trigger) })
    const alerts = [alert]
    const previous = this.sent.get(trigger.alert_id)
    if (previous && labelKey(previous.labels) !== labelKey(alert.labels)) {
      const endsAt = iso(Math.max(Date.parse(previous.startsAt), now))
      alerts.push({ labels: previous.labels, annotations: alert.annotations, startsAt: previous.startsAt, endsAt })
    }
    await this.post(alerts, signal)
    this.sent.delete(trigger.alert_id)
    if (trigger.status === 'firing') {
      this.sent.set(trigger.alert_id, { labels: alert.labels, startsAt: alert.startsAt })
      const limit = this.options.rememberAlerts ?? 10_000
      for (const id of this.sent.keys()) {
        if (this.sent.size <= limit) break
        this.sent.delete(id)
      }
    }
  }

  async post(alerts: AlertmanagerAlert[], signal?: AbortSignal): Promise<void> {
    const res = await this.fetch(`${this.base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts),
      signal,
    })
    await ensureOk(res, this.name)
  }

  listAlerts(options: ListAlertsOptions = {}): Promise<GettableAlert[]> {
    return listAlerts(this.base, { fetch: this.fetch, ...options })
  }
}

export interface ListAlertsOptions {
  /** Label matchers, e.g. ['alert_id="abc"', 'model_id=~"credit.*"']. */
  filter?: string[]
  active?: boolean
  silenced?: boolean
  inhibited?: boolean
  unprocessed?: boolean
  receiver?: string
  timeoutMs?: number
  fetch?: typeof fetch
}

/** GET /api/v2/alerts: the alerts Alertmanager holds that have not ended (resolved ones are not listed). */
export async function listAlerts(url: string, options: ListAlertsOptions = {}): Promise<GettableAlert[]> {
  const query = new URLSearchParams()
  for (const matcher of options.filter ?? []) query.append('filter', matcher)
  for (const flag of ['active', 'silenced', 'inhibited', 'unprocessed'] as const) {
    const value = options[flag]
    if (value !== undefined) query.set(flag, String(value))
  }
  if (options.receiver) query.set('receiver', options.receiver)
  const qs = query.toString()
  const res = await (options.fetch ?? globalThis.fetch)(`${url.replace(/\/+$/, '')}/api/v2/alerts${qs ? `?${qs}` : ''}`, {
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  })
  if (!res.ok) throw new Error(`alertmanager answered ${res.status}: ${(await res.text()).slice(0, 300)}`)
  return (await res.json()) as GettableAlert[]
}
