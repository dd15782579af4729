import type { MonitorTrigger } from '../../../shared/events/types.ts'
import { ensureOk, type Receiver } from './receiver.ts'
import { runbookFor } from '../../core/alerts/runbooks.ts'
import { alertLookupQuery } from '../../store/evidence-sql.ts'

// A generic JSON webhook (chat bridges, paging services, an in-house incident tool): one POST per
// alert transition with the whole trigger plus the text an on-call engineer needs first.
// Delivery is at least once (a retry after a lost answer sends the same body again), so every
// request carries an Idempotency-Key the receiver can deduplicate on.

export interface WebhookBody {
  version: 1
  alert_id: string
  status: MonitorTrigger['status']
  summary: string
  runbook: string
  evidence_query: string
  trigger: MonitorTrigger
}

/** For receivers outside the trust boundary: ids, times and a query that finds the alert, but no
 *  summary, evidence, segment values or evidence SQL (ALERT_WEBHOOK_DETAIL=ids). */
export interface WebhookIdsBody {
  version: 1
  alert_id: string
  status: MonitorTrigger['status']
  model_id: string
  model_version: string
  kind: MonitorTrigger['kind']
  severity: MonitorTrigger['severity']
  window_size_ms: number
  first_seen: number
  last_seen: number
  runbook: string
  /** Where the rest is, for someone with access to ClickHouse. */
  lookup_query: string
}

export type WebhookDetail = 'full' | 'ids'

export function webhookIdsBody(trigger: MonitorTrigger): WebhookIdsBody {
  return {
    version: 1,
    alert_id: trigger.alert_id,
    status: trigger.status,
    model_id: trigger.model_id,
    model_version: trigger.model_version,
    kind: trigger.kind,
    severity: trigger.severity,
    window_size_ms: trigger.window_size_ms,
    first_seen: trigger.first_seen,
    last_seen: trigger.last_seen,
    runbook: runbookFor(trigger.kind),
    lookup_query: alertLookupQuery(trigger.alert_id),
  }
}

export function webhookBody(trigger: MonitorTrigger): WebhookBody {
  return {
    version: 1,
    alert_id: trigger.alert_id,
    status: trigger.status,
    summary: trigger.summary,
    runbook: runbookFor(trigger.kind),
    evidence_query: trigger.evidence_query,
    trigger,
  }
}

/** Same key for the same transition of the same alert, whatever the number of attempts. */
export function idempotencyKey(trigger: MonitorTrigger): string {
  return `${trigger.alert_id}:${trigger.status}:${trigger.last_seen}`
}

export interface WebhookClientOptions {
  url: string
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string
  /** 'full' (default): the whole trigger; 'ids': webhookIdsBody. */
  detail?: WebhookDetail
  fetch?: typeof fetch
}

export class WebhookClient implements Receiver {
  readonly name = 'webhook'
  private readonly fetch: typeof fetch

  constructor(private readonly options: WebhookClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch
  }

  async send(trigger: MonitorTrigger, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey(trigger),
      'user-agent': 'driftgate-alerting',
    }
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`
    const res = await this.fetch(this.options.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(this.options.detail === 'ids' ? webhookIdsBody(trigger) : webhookBody(trigger)),
      signal,
    })
    await ensureOk(res, this.name)
  }
}
