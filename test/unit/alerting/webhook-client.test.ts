import { describe, expect, it } from 'vitest'
import { RUNBOOKS } from '../../../services/monitor/core/alerts/runbooks.ts'
import { WebhookClient } from '../../../services/monitor/run/alerting/webhook-client.ts'
import { trigger } from './fixtures.ts'

function recordingFetch(status = 200) {
  const requests: { url: string; headers: Headers; body: unknown }[] = []
  const fn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    requests.push({ url: String(input), headers: new Headers(init?.headers), body: JSON.parse(String(init?.body)) })
    return new Response('', { status })
  }
  return { fetch: fn as typeof fetch, requests }
}

describe('WebhookClient', () => {
  it('posts the trigger with summary, runbook and evidence query, and the bearer token when set', async () => {
    const { fetch, requests } = recordingFetch()
    const t = trigger({ kind: 'join_health', subject: 'join_rate' })
    await new WebhookClient({ url: 'http://hooks/x', token: 's3cret', fetch }).send(t, new AbortController().signal)
    expect(requests).toHaveLength(1)
    const [req] = requests
    expect(req!.url).toBe('http://hooks/x')
    expect(req!.headers.get('authorization')).toBe('Bearer s3cret')
    expect(req!.headers.get('content-type')).toBe('application/json')
    expect(req!.headers.get('idempotency-key')).toBe(`a-1:firing:${t.last_seen}`)
    expect(req!.body).toEqual({
      version: 1,
      alert_id: 'a-1',
      status: 'firing',
      summary: t.summary,
      runbook: RUNBOOKS.join_health,
      evidence_query: t.evidence_query,
      trigger: t,
    })
  })

  it('with detail ids, sends ids, times and a lookup query, and nothing of the evidence', async () => {
    const { fetch, requests } = recordingFetch()
    const t = trigger({ segment: 'customer=ACME-42', summary: 'income drifted in customer=ACME-42' })
    await new WebhookClient({ url: 'http://hooks/x', detail: 'ids', fetch }).send(t, new AbortController().signal)
    const body = requests[0]!.body as Record<string, unknown>
    expect(body).toEqual({
      version: 1,
      alert_id: 'a-1',
      status: 'firing',
      model_id: t.model_id,
      model_version: t.model_version,
      kind: t.kind,
      severity: t.severity,
      window_size_ms: t.window_size_ms,
      first_seen: t.first_seen,
      last_seen: t.last_seen,
      runbook: RUNBOOKS.drift,
      lookup_query: "SELECT * FROM alerts FINAL WHERE alert_id = 'a-1'",
    })
    for (const secret of ['ACME-42', 'income', 'feature = ']) expect(JSON.stringify(body)).not.toContain(secret)
  })

  it('sends no authorization header without a token', async () => {
    const { fetch, requests } = recordingFetch()
    await new WebhookClient({ url: 'http://hooks/x', fetch }).send(trigger(), new AbortController().signal)
    expect(requests[0]!.headers.has('authorization')).toBe(false)
  })

  it('fails on a non-2xx answer', async () => {
    const { fetch } = recordingFetch(502)
    await expect(new WebhookClient({ url: 'http://hooks/x', fetch }).send(trigger(), new AbortController().signal)).rejects.toThrow(/webhook answered 502/)
  })
})
