import { ApproverTokens, tokenHash } from '../../services/policy/core/approver-tokens.ts'
import type { PolicyService } from '../../services/policy/run/policy-service.ts'

// Two approvers, each with a token of their own; only the hashes are configured.
export const ALICE = 'alice-0d5b1f0c8e2a4a7f9c3e6b1d2f4a8c0e'
export const BOB = 'bob-7f3c9a1e5b2d4c6f8a0e1d3b5c7f9a2e'
export const approvers = () => ({ port: 0, tokens: ApproverTokens.parse(`alice:${tokenHash(ALICE)}, bob:${tokenHash(BOB)}`) })

/** Calls the policy API; each call moves the test clock (when there is one) a second on, so the
 *  audit has an order. */
export function apiCaller(clock: () => { t: number } | null) {
  return async (
    service: PolicyService,
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const c = clock()
    if (c) c.t += 1000
    const res = await fetch(`http://127.0.0.1:${service.apiPort()}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', ...extra },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
}
