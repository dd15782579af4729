import type { MonitorTrigger } from '../../../shared/events/types.ts'

/** Somewhere alerts go (Alertmanager, a webhook). One send is one HTTP request, retried by the queue. */
export interface Receiver {
  /** Short name used in logs and metric labels. */
  readonly name: string
  /** Resolves once the receiver accepted the trigger; `signal` aborts a slow request. */
  send(trigger: MonitorTrigger, signal: AbortSignal): Promise<void>
}

/** A failed send. `retryable` is false when trying again cannot help (the receiver rejected the payload). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message)
    this.name = 'DeliveryError'
  }
}

/** Server errors, timeouts and rate limits are worth retrying; other 4xx answers are not. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429
}

/** Throws a DeliveryError unless the answer is 2xx; reads (and so releases) the body either way. */
export async function ensureOk(res: Response, receiver: string): Promise<void> {
  const text = await res.text().catch(() => '')
  if (res.ok) return
  throw new DeliveryError(`${receiver} answered ${res.status}: ${text.slice(0, 300).trim()}`, retryableStatus(res.status))
}
