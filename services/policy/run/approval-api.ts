import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from '../../shared/logging/logger.ts'
import type { ApproverTokens } from '../core/approver-tokens.ts'
import type { InvestigationKind } from '../core/decision-context.ts'
import type { ApprovalResult, InvestigationResult } from './policy-pipeline.ts'
import { RefusalLimiter } from '../core/refusal-limiter.ts'
import type { ApprovalRecord, PendingApproval } from '../store/policy-store.ts'

// Human approval of retrain decisions over HTTP. Every route but the health checks needs a
// bearer token of one of the configured approvers (approver-tokens.ts); the actor audited is that
// token's owner. Every call to an approval route, accepted or refused (no or wrong token, a
// malformed path or body), leaves a row in policy_approvals, up to the refusal limit.
//
//   GET  /approvals                          pending decisions (latest per episode)
//   POST /approvals/:decision_id/approve     body {"comment": "..."} (optional)
//   POST /approvals/:decision_id/reject
//   POST /episodes/:episode_id/investigation body {"outcome": "pipeline_bug" | "real_change" |
//        "false_alarm", "fixed_at": ms or ISO-8601 (pipeline_bug only, required), "comment": "..."}

export interface ApprovalBackend {
  listPending(): PendingApproval[]
  act(decisionId: string, action: 'approve' | 'reject', who: { actor: string; comment: string; remote_addr: string }): Promise<ApprovalResult>
  investigate(
    episodeId: string,
    recorded: { outcome: InvestigationKind; fixed_at: number | null },
    who: { actor: string; comment: string; remote_addr: string },
  ): Promise<InvestigationResult>
  /** Audit of a refused call (unauthorized, invalid). */
  audit(record: ApprovalRecord): Promise<void>
  healthy(): boolean
  ready(): boolean
  /** The service clock (audit times). */
  now(): number
}

export interface ApprovalApiOptions {
  port: number
  host?: string
  tokens: ApproverTokens
  backend: ApprovalBackend
  logger: Logger
  /** Refused calls audited per window (default: 20 per address, 200 in all, per minute). */
  refusals?: RefusalLimiter
}

export interface ApprovalApi {
  port: number
  close(): Promise<void>
}

/** A request the API refuses with a 4xx, audited with its reason. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly result: ApprovalRecord['result'],
    message: string,
  ) {
    super(message)
  }
}

function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match ? match[1]! : null
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new Refusal(413, 'invalid', `body larger than ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return {}
  let value: unknown
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (error) {
    throw new Refusal(400, 'invalid', `body is not JSON: ${(error as Error).message}`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Refusal(400, 'invalid', 'body must be a JSON object')
  return value as Record<string, unknown>
}

const OUTCOMES: readonly InvestigationKind[] = ['pipeline_bug', 'real_change', 'false_alarm']

/** The investigation outcome a body states; refuses anything else with the reason. */
function investigationBody(body: Record<string, unknown>): { outcome: InvestigationKind; fixed_at: number | null } {
  const outcome = body.outcome as InvestigationKind
  if (!OUTCOMES.includes(outcome)) throw new Refusal(400, 'invalid', `outcome must be one of ${OUTCOMES.join(', ')}`)
  if (outcome !== 'pipeline_bug') {
    if (body.fixed_at !== undefined) throw new Refusal(400, 'invalid', 'fixed_at is only for outcome pipeline_bug')
    return { outcome, fixed_at: null }
  }
  const raw = body.fixed_at
  const fixedAt =
    typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0
      ? raw
      : typeof raw === 'string' && /([zZ]|[+-]\d\d:?\d\d)$/.test(raw)
        ? Date.parse(raw)
        : NaN
  if (Number.isNaN(fixedAt)) throw new Refusal(400, 'invalid', 'pipeline_bug needs fixed_at: when it was fixed, as ms or ISO-8601 with a zone')
  return { outcome, fixed_at: fixedAt }
}

function decodeId(raw: string, what = 'decision'): string {
  try {
    const id = decodeURIComponent(raw)
    if (id.length > 200) throw new Refusal(400, 'invalid', `${what} id longer than 200 characters`)
    return id
  } catch (error) {
    if (error instanceof Refusal) throw error
    throw new Refusal(400, 'invalid', `malformed percent-encoding in the ${what} id`)
  }
}

export async function startApprovalApi(options: ApprovalApiOptions): Promise<ApprovalApi> {
  const { backend, logger, tokens } = options
  const refusals = options.refusals ?? new RefusalLimiter(Date.now)

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/'
    const method = req.method ?? 'GET'
    if (path === '/_health' || path === '/_ready') {
      const ok = path === '/_health' ? backend.healthy() : backend.ready()
      return send(res, ok ? 200 : 503, { ok })
    }
    const action = /^\/approvals\/([^/]+)\/(approve|reject)$/.exec(path)
    const investigation = /^\/episodes\/([^/]+)\/investigation$/.exec(path)
    const audited = path === '/approvals' || ((action !== null || investigation !== null) && method === 'POST')
    const remote = req.socket.remoteAddress ?? ''
    let decisionId = ''
    let episodeId = ''
    let actor = ''
    const refuse = async (refusal: Refusal): Promise<void> => {
      if (audited && refusals.allow(remote)) {
        await backend.audit({
          action_id: randomUUID(),
          at: backend.now(),
          decision_id: decisionId,
          model_id: '',
          episode_id: episodeId,
          action: action ? (action[2] as 'approve' | 'reject') : investigation ? 'investigation' : 'list',
          result: refusal.result,
          actor,
          comment: refusal.message.slice(0, 500),
          remote_addr: remote,
          request_id: '',
        })
      } else if (audited) {
        logger.warn(
          { event: 'approval_api_refusals_limited', remote, dropped: refusals.dropped() },
          'too many refused approval API calls: answered 429 without an audit row',
        )
        return send(res, 429, { error: 'too many refused requests; try again later' })
      }
      logger.warn(
        { event: `approval_api_${refusal.result}`, path: path.slice(0, 200), remote, reason: refusal.message.slice(0, 200) },
        'approval API call refused',
      )
      if (refusal.status === 401) res.setHeader('www-authenticate', 'Bearer')
      send(res, refusal.status, { error: refusal.message })
    }
    try {
      if (action) decisionId = decodeId(action[1]!)
      if (investigation) episodeId = decodeId(investigation[1]!, 'episode')
      const token = bearer(req.headers.authorization)
      const owner = token === null ? null : tokens.owner(token)
      if (owner === null) throw new Refusal(401, 'unauthorized', token === null ? 'missing bearer token' : 'unknown bearer token')
      actor = owner
      if (method === 'GET' && path === '/approvals') return send(res, 200, { pending: backend.listPending() })
      if (method !== 'POST' || !(action || investigation)) return send(res, 404, { error: `no route for ${method} ${path.slice(0, 200)}` })
      const body = await readJson(req)
      const comment = body.comment ?? ''
      if (typeof comment !== 'string') throw new Refusal(400, 'invalid', 'comment must be a string')
      if (investigation) {
        const result = await backend.investigate(episodeId, investigationBody(body), { actor: owner, comment: comment.slice(0, 2000), remote_addr: remote })
        return send(res, result.status === 'not_found' ? 404 : 200, result)
      }
      if (!action) throw new Refusal(400, 'invalid', 'no action')
      // Who acts is the token's owner: a name in the body or a header is not an identity.
      const result = await backend.act(decisionId, action[2] as 'approve' | 'reject', { actor: owner, comment: comment.slice(0, 2000), remote_addr: remote })
      const status = result.status === 'not_found' ? 404 : result.status === 'not_pending' ? 409 : 200
      return send(res, status, result)
    } catch (error) {
      if (error instanceof Refusal) return refuse(error)
      throw error
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ event: 'approval_api_error', err: error }, 'approval API request failed')
      if (!res.headersSent) send(res, 500, { error: 'internal error' })
      else res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
