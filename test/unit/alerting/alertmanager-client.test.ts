import { describe, expect, it } from 'vitest'
import {
  AlertmanagerClient,
  DEFAULT_FIRING_TTL_MS,
  listAlerts,
  toAlertmanagerAlert,
  type AlertmanagerAlert,
} from '../../../services/monitor/run/alerting/alertmanager-client.ts'
import { DeliveryError } from '../../../services/monitor/run/alerting/receiver.ts'
import { RUNBOOKS } from '../../../services/monitor/core/alerts/runbooks.ts'
import type { AlertKind } from '../../../services/shared/events/types.ts'
import { T0, trigger } from './fixtures.ts'

const HOUR = 3_600_000
const NOW = T0 + 5 * HOUR

interface Call {
  url: string
  method: string
  body: unknown
}

function fakeFetch(status = 200, answer: unknown = ''): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = []
  const fn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: String(input), method: init?.method ?? 'GET', body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined })
    return new Response(typeof answer === 'string' ? answer : JSON.stringify(answer), { status })
  }
  return { fetch: fn as typeof fetch, calls }
}

describe('trigger -> Alertmanager alert', () => {
  it('puts the identity in labels and the changing numbers and texts in annotations', () => {
    const alert = toAlertmanagerAlert(trigger(), { now: NOW })
    expect(alert.labels).toEqual({
      alertname: 'driftgate_drift',
      model_id: 'credit-default',
      model_version: 'v7',
      segment: 'all',
      kind: 'drift',
      subject: 'income',
      severity: 'warning',
      alert_id: 'a-1',
    })
    expect(alert.annotations).toMatchObject({
      summary: 'credit-default v7: income drifted (PSI 0.31 > 0.2)',
      runbook: RUNBOOKS.drift,
      evidence_query: trigger().evidence_query,
      observed: '0.312346',
      expected: '0',
      threshold: '0.2',
      window: '2024-03-04T10:00:00.000Z/2024-03-04T11:00:00.000Z (1h window)',
      evidence: 'income: 0.312346 (PSI vs reference)',
    })
    expect(alert.annotations.label_coverage).toBeUndefined()
    expect(alert.generatorURL).toBeUndefined()
  })

  it('starts at first_seen and, while firing, ends a generous TTL after the send', () => {
    const alert = toAlertmanagerAlert(trigger(), { now: NOW })
    expect(alert.startsAt).toBe(new Date(T0).toISOString())
    expect(alert.endsAt).toBe(new Date(NOW + DEFAULT_FIRING_TTL_MS).toISOString())
    // Refreshed on every send.
    expect(toAlertmanagerAlert(trigger(), { now: NOW + HOUR }).endsAt).toBe(new Date(NOW + HOUR + DEFAULT_FIRING_TTL_MS).toISOString())
  })

  it('keeps a firing alert open for at least four windows of its size', () => {
    const day = 24 * HOUR
    const alert = toAlertmanagerAlert(trigger({ window_size_ms: day, window_end: T0 + day, last_seen: T0 + day }), { now: NOW, firingTtlMs: HOUR })
    expect(Date.parse(alert.endsAt) - NOW).toBe(4 * day)
    expect(alert.annotations.window).toContain('(1d window)')
  })

  it('ends a resolved alert at the end of its last window with a finding, never after now nor before startsAt', () => {
    // last_seen is the start of that window: 13:00 with 1h windows ends at 14:00, with 30-minute windows at 13:30.
    const resolved = toAlertmanagerAlert(trigger({ status: 'resolved', last_seen: T0 + 3 * HOUR }), { now: NOW })
    expect(resolved.endsAt).toBe('2024-03-04T14:00:00.000Z')
    const halfHour = toAlertmanagerAlert(trigger({ status: 'resolved', window_size_ms: HOUR / 2, last_seen: T0 + 3 * HOUR }), { now: NOW })
    expect(halfHour.endsAt).toBe('2024-03-04T13:30:00.000Z')
    // A last window that has not ended yet by our clock: ended now.
    const stillOpen = toAlertmanagerAlert(trigger({ status: 'resolved', last_seen: NOW - HOUR / 2 }), { now: NOW })
    expect(stillOpen.endsAt).toBe(new Date(NOW).toISOString())
    const aheadOfUs = toAlertmanagerAlert(trigger({ status: 'resolved', last_seen: NOW + HOUR }), { now: NOW })
    expect(aheadOfUs.endsAt).toBe(new Date(NOW).toISOString())
    const startedInTheFuture = toAlertmanagerAlert(trigger({ status: 'resolved', first_seen: NOW + HOUR, last_seen: NOW + 2 * HOUR }), { now: NOW })
    expect(startedInTheFuture.startsAt).toBe(new Date(NOW).toISOString())
    expect(startedInTheFuture.endsAt).toBe(new Date(NOW).toISOString())
  })

  it('leaves out empty label values and adds coverage, estimate and generatorURL when there', () => {
    const alert = toAlertmanagerAlert(trigger({ kind: 'estimated_performance', subject: '', label_coverage: 0.125, estimated: true }), {
      now: NOW,
      generatorUrl: 'http://dash/x',
    })
    expect(alert.labels.subject).toBeUndefined()
    expect(alert.labels.alertname).toBe('driftgate_estimated_performance')
    expect(alert.annotations.label_coverage).toBe('0.125')
    expect(alert.annotations.estimated).toBe('true')
    expect(alert.annotations.runbook).toBe(RUNBOOKS.estimated_performance)
    expect(alert.generatorURL).toBe('http://dash/x')
  })

  it('has a runbook paragraph for every alert kind, naming driftgate tables', () => {
    const kinds: AlertKind[] = ['drift', 'prediction_drift', 'performance', 'estimated_performance', 'data_quality', 'join_health', 'anomaly']
    for (const kind of kinds) {
      expect(RUNBOOKS[kind]).toMatch(/First steps: \(1\).*\(2\).*\(3\)/)
      expect(RUNBOOKS[kind]).toMatch(/Tables: /)
    }
  })
})

describe('AlertmanagerClient', () => {
  it('posts the alert to /api/v2/alerts', async () => {
    const { fetch, calls } = fakeFetch()
    const client = new AlertmanagerClient({ url: 'http://am:9093/', fetch, now: () => NOW })
    await client.send(trigger(), new AbortController().signal)
    expect(calls).toHaveLength(1)
    expect(calls[0]!.url).toBe('http://am:9093/api/v2/alerts')
    expect(calls[0]!.method).toBe('POST')
    expect(calls[0]!.body).toEqual([toAlertmanagerAlert(trigger(), { now: NOW })])
  })

  it('resolves the superseded label set when a label changes within an episode', async () => {
    const { fetch, calls } = fakeFetch()
    let now = NOW
    const client = new AlertmanagerClient({ url: 'http://am:9093', fetch, now: () => now })
    await client.send(trigger(), new AbortController().signal)
    now += HOUR
    await client.send(trigger({ severity: 'critical', last_seen: T0 + 2 * HOUR }), new AbortController().signal)
    const [current, superseded] = calls[1]!.body as AlertmanagerAlert[]
    expect(current!.labels.severity).toBe('critical')
    expect(superseded!.labels).toEqual({ ...current!.labels, severity: 'warning' })
    expect(superseded!.startsAt).toBe(new Date(T0).toISOString())
    expect(superseded!.endsAt).toBe(new Date(now).toISOString())
    // Same labels again: one alert only.
    await client.send(trigger({ severity: 'critical' }), new AbortController().signal)
    expect(calls[2]!.body).toHaveLength(1)
  })

  it('reports 4xx as not retryable and 5xx as retryable', async () => {
    const rejected = new AlertmanagerClient({ url: 'http://am', fetch: fakeFetch(400, 'start time must be before end time').fetch })
    const err400 = await rejected.send(trigger(), new AbortController().signal).catch((e: unknown) => e)
    expect(err400).toBeInstanceOf(DeliveryError)
    expect((err400 as DeliveryError).retryable).toBe(false)
    expect((err400 as DeliveryError).message).toContain('400')
    const unavailable = new AlertmanagerClient({ url: 'http://am', fetch: fakeFetch(503).fetch })
    const err503 = await unavailable.send(trigger(), new AbortController().signal).catch((e: unknown) => e)
    expect((err503 as DeliveryError).retryable).toBe(true)
  })

  it('lists alerts with matchers and flags in the query string', async () => {
    const { fetch, calls } = fakeFetch(200, [])
    await listAlerts('http://am:9093', { filter: ['alert_id="a-1"', 'model_id="m"'], active: true, silenced: false, fetch })
    const url = new URL(calls[0]!.url)
    expect(url.pathname).toBe('/api/v2/alerts')
    expect(url.searchParams.getAll('filter')).toEqual(['alert_id="a-1"', 'model_id="m"'])
    expect(url.searchParams.get('active')).toBe('true')
    expect(url.searchParams.get('silenced')).toBe('false')
    expect(url.searchParams.has('inhibited')).toBe(false)
  })
})
