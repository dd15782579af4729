import { readFileSync } from 'node:fs'

// `driftgate investigation`: records what an investigation of an episode found, through the
// policy API (the token decides who is audited as having recorded it).

export interface InvestigationCall {
  /** Base URL of the policy API, e.g. http://127.0.0.1:8090. */
  api: string
  token: string
  episodeId: string
  outcome: string
  fixedAt?: string
  comment?: string
}

/** The approver's token: from a file (first line) or the environment. */
export function apiToken(tokenFile: string | undefined, fromEnv: string | undefined): string {
  const token = tokenFile ? (readFileSync(tokenFile, 'utf8').split('\n')[0] ?? '').trim() : (fromEnv ?? '')
  if (!token) throw new Error('no API token: pass --token-file or set POLICY_API_TOKEN to your approver token')
  return token
}

/** Sends the outcome; returns a line to print, or throws with the API's reason. */
export async function recordInvestigation(call: InvestigationCall): Promise<string> {
  const body: Record<string, unknown> = { outcome: call.outcome, comment: call.comment ?? '' }
  if (call.fixedAt !== undefined) body.fixed_at = /^\d+$/.test(call.fixedAt) ? Number(call.fixedAt) : call.fixedAt
  const res = await fetch(`${call.api.replace(/\/+$/, '')}/episodes/${encodeURIComponent(call.episodeId)}/investigation`, {
    method: 'POST',
    headers: { authorization: `Bearer ${call.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer = (await res.json().catch(() => ({}))) as { error?: string; message?: string; decision?: { decision: string; decision_id: string } | null }
  if (!res.ok) throw new Error(`policy API answered ${res.status}: ${answer.error ?? answer.message ?? 'no reason given'}`)
  const decided = answer.decision ? `; the episode was decided again: ${answer.decision.decision} (decision ${answer.decision.decision_id})` : ''
  return `recorded ${call.outcome} for episode ${call.episodeId}${decided}`
}
