import { execFileSync } from 'node:child_process'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAlertDelivery, listAlerts, RUNBOOKS, type AlertDelivery } from '../../services/monitor/run/alerting/index.ts'
import type { MonitorTrigger } from '../../services/shared/events/types.ts'
import { ALERTMANAGER_URL, testLogger, uniqueId, waitFor } from '../support/harness.ts'
import { trigger as baseTrigger } from '../unit/alerting/fixtures.ts'

// Alert delivery against the real Alertmanager (0.25, started by infra/local/alertmanager.sh) and
// real local HTTP servers. Every test uses its own model and alert ids, so tests do not see each
// other's alerts in the shared Alertmanager.

const HOUR = 3_600_000

async function ready(): Promise<boolean> {
  try {
    return (await fetch(`${ALERTMANAGER_URL}/-/ready`, { signal: AbortSignal.timeout(2000) })).ok
  } catch {
    return false
  }
}

beforeAll(async () => {
  if (!(await ready())) execFileSync('bash', ['infra/local/alertmanager.sh', 'start'], { stdio: 'inherit' })
  await waitFor(ready, { what: `Alertmanager ready at ${ALERTMANAGER_URL}`, timeoutMs: 30_000 })
})

const open: AlertDelivery[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()))
})

function delivery(options: Partial<Parameters<typeof createAlertDelivery>[0]> = {}): { d: AlertDelivery; registry: Registry } {
  const registry = new Registry()
  const d = createAlertDelivery({ logger: testLogger('alerting'), registry, queue: { baseDelayMs: 100, maxDelayMs: 1000 }, ...options })
  open.push(d)
  return { d, registry }
}

/** A trigger of a model of its own, with windows ending a little before now. */
function trigger(overrides: Partial<MonitorTrigger> = {}): MonitorTrigger {
  const id = uniqueId()
  const start = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR
  return baseTrigger({
    alert_id: `al-${id}`,
    model_id: `it-model-${id}`,
    window_start: start,
    window_end: start + HOUR,
    first_seen: start,
    last_seen: start + HOUR,
    ...overrides,
  })
}

const byAlertId = (t: MonitorTrigger) => listAlerts(ALERTMANAGER_URL, { filter: [`alert_id="${t.alert_id}"`] })

async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name)
  const values = metric ? (await metric.get()).values : []
  return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value ?? 0
}

async function alertmanagerCounter(line: string): Promise<number> {
  const text = await (await fetch(`${ALERTMANAGER_URL}/metrics`)).text()
  const found = text.split('\n').find((l) => l.startsWith(line + ' '))
  return found ? Number(found.slice(line.length + 1)) : 0
}

describe('Alertmanager delivery', () => {
  it('a firing trigger appears in GET /api/v2/alerts with its labels and annotations', async () => {
    const { d } = delivery({ alertmanagerUrl: ALERTMANAGER_URL })
    const t = trigger()
    const sentAt = Date.now()
    d.deliver(t)
    const [alert] = await waitFor(
      async () => {
        const list = await byAlertId(t)
        return list.length === 1 ? list : null
      },
      { what: 'the alert in Alertmanager', timeoutMs: 15_000 },
    )
    expect(alert!.labels).toEqual({
      alertname: 'driftgate_drift',
      model_id: t.model_id,
      model_version: 'v7',
      segment: 'all',
      kind: 'drift',
      subject: 'income',
      severity: 'warning',
      alert_id: t.alert_id,
    })
    expect(alert!.annotations).toMatchObject({
      summary: t.summary,
      runbook: RUNBOOKS.drift,
      evidence_query: t.evidence_query,
      observed: '0.312346',
      expected: '0',
      threshold: '0.2',
    })
    expect(alert!.annotations.window).toContain(new Date(t.window_start).toISOString())
    expect(Date.parse(alert!.startsAt)).toBe(t.first_seen)
    // Open for a day without a new send, not the 5-minute resolve_timeout.
    expect(Date.parse(alert!.endsAt)).toBeGreaterThanOrEqual(sentAt + 24 * HOUR)
    expect(alert!.status.state).toBe('active')
    expect(alert!.receivers.map((r) => r.name)).toEqual(['driftgate'])
  })

  it('the same firing trigger sent twice (two monitor instances) is one alert', async () => {
    const first = delivery({ alertmanagerUrl: ALERTMANAGER_URL })
    const second = delivery({ alertmanagerUrl: ALERTMANAGER_URL })
    const t = trigger()
    first.d.deliver(t)
    second.d.deliver(t)
    await Promise.all([first.d.whenIdle(), second.d.whenIdle()])
    expect(await counter(first.registry, 'driftgate_alerts_delivered_total', { receiver: 'alertmanager' })).toBe(1)
    expect(await counter(second.registry, 'driftgate_alerts_delivered_total', { receiver: 'alertmanager' })).toBe(1)
    const alerts = await byAlertId(t)
    expect(alerts).toHaveLength(1)
    expect(await listAlerts(ALERTMANAGER_URL, { filter: [`model_id="${t.model_id}"`] })).toHaveLength(1)
  })

  it('the resolved trigger resolves the alert: Alertmanager 0.25 no longer lists it', async () => {
    const { d } = delivery({ alertmanagerUrl: ALERTMANAGER_URL })
    const t = trigger()
    d.deliver(t)
    await waitFor(async () => (await byAlertId(t)).length === 1, { what: 'the firing alert', timeoutMs: 15_000 })
    const resolvedBefore = await alertmanagerCounter('alertmanager_alerts_received_total{status="resolved",version="v2"}')
    d.deliver({ ...t, status: 'resolved', last_seen: t.last_seen + HOUR })
    await d.whenIdle()
    // 0.25 leaves alerts whose endsAt has passed out of GET /api/v2/alerts whatever the filters
    // (checked by hand: they do not show up with active, silenced, inhibited and unprocessed set).
    await waitFor(async () => (await byAlertId(t)).length === 0, { what: 'the alert to leave the list', timeoutMs: 15_000 })
    const everything = await listAlerts(ALERTMANAGER_URL, {
      filter: [`alert_id="${t.alert_id}"`],
      active: true,
      silenced: true,
      inhibited: true,
      unprocessed: true,
    })
    expect(everything).toEqual([])
    expect(await alertmanagerCounter('alertmanager_alerts_received_total{status="resolved",version="v2"}')).toBeGreaterThan(resolvedBefore)
  })

  it('a severity escalation within an episode leaves one alert, with the new severity', async () => {
    const { d } = delivery({ alertmanagerUrl: ALERTMANAGER_URL })
    const t = trigger()
    d.deliver(t)
    await d.whenIdle()
    d.deliver({ ...t, severity: 'critical', last_seen: t.last_seen + HOUR })
    await d.whenIdle()
    const alerts = await waitFor(
      async () => {
        const list = await byAlertId(t)
        return list.length === 1 ? list : null
      },
      { what: 'one alert for the episode', timeoutMs: 15_000 },
    )
    expect(alerts[0]!.labels.severity).toBe('critical')
  })
})

interface Received {
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
}

/** A local JSON webhook; answers `failFirst` requests with 500, then 200. */
async function webhookServer(failFirst = 0): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = []
  let failures = failFirst
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> })
      res.statusCode = failures-- > 0 ? 500 : 200
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/hooks/driftgate`, received, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

/** A local URL where nothing listens (a port that was just released). */
async function closedPortUrl(): Promise<string> {
  const s = await webhookServer()
  const url = s.url
  await s.close()
  return url
}

describe('webhook delivery', () => {
  let server: Awaited<ReturnType<typeof webhookServer>> | null = null
  afterAll(async () => {
    await server?.close()
  })

  it('posts the trigger with summary, runbook and evidence query and the bearer token, retrying a 500', async () => {
    server = await webhookServer(1)
    const { d, registry } = delivery({ webhookUrl: server.url, webhookToken: 'tok-123' })
    const t = trigger({ kind: 'performance', subject: 'accuracy' })
    d.deliver(t)
    await waitFor(() => server!.received.length === 2, { what: 'two webhook requests (one failed, one accepted)', timeoutMs: 15_000 })
    await d.whenIdle()
    const [failed, accepted] = server.received
    expect(accepted!.headers.authorization).toBe('Bearer tok-123')
    expect(accepted!.headers['content-type']).toBe('application/json')
    expect(accepted!.headers['idempotency-key']).toBe(failed!.headers['idempotency-key'])
    expect(accepted!.body).toEqual({
      version: 1,
      alert_id: t.alert_id,
      status: 'firing',
      summary: t.summary,
      runbook: RUNBOOKS.performance,
      evidence_query: t.evidence_query,
      trigger: t,
    })
    expect(await counter(registry, 'driftgate_alert_delivery_retries_total', { receiver: 'webhook' })).toBe(1)
    expect(await counter(registry, 'driftgate_alerts_delivered_total', { receiver: 'webhook' })).toBe(1)
  })

  it('a dead webhook is retried without blocking deliver() nor Alertmanager, and close() is bounded', async () => {
    const deadUrl = await closedPortUrl()
    const registry = new Registry()
    const d = createAlertDelivery({
      alertmanagerUrl: ALERTMANAGER_URL,
      webhookUrl: deadUrl,
      logger: testLogger('alerting'),
      registry,
      queue: { baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 1000 },
      closeTimeoutMs: 1000,
    })
    const triggers = Array.from({ length: 20 }, () => trigger())
    const before = performance.now()
    for (const t of triggers) d.deliver(t)
    expect(performance.now() - before).toBeLessThan(200)

    for (const t of triggers) await waitFor(async () => (await byAlertId(t)).length === 1, { what: `alert ${t.alert_id} in Alertmanager`, timeoutMs: 15_000 })
    await waitFor(async () => (await counter(registry, 'driftgate_alert_delivery_retries_total', { receiver: 'webhook' })) >= 3, {
      what: 'retries of the dead webhook',
      timeoutMs: 15_000,
    })
    expect(await counter(registry, 'driftgate_alerts_delivered_total', { receiver: 'webhook' })).toBe(0)
    expect(await counter(registry, 'driftgate_alerts_delivered_total', { receiver: 'alertmanager' })).toBe(20)

    const closing = performance.now()
    await d.close()
    expect(performance.now() - closing).toBeLessThan(3000)
    expect(await counter(registry, 'driftgate_alerts_dropped_total', { receiver: 'webhook', reason: 'shutdown' })).toBeGreaterThanOrEqual(19)
  })
})
