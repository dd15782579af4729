import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from '../shared/logging/logger.ts'
import type { ApprovalResult } from './policy-pipeline.ts'
import type { ApprovalRecord, PendingApproval } from './policy-store.ts'

// Human approval of retrain decisions over HTTP. A bearer token guards every route but the
// health checks; every approve or reject, accepted or refused (bad token included), leaves a row
// in policy_approvals.
//
//   GET  /approvals                          pending decisions (latest per episode)
//   POST /approvals/:decision_id/approve     body {"actor": "...", "comment": "..."} (optional)
//   POST /approvals/:decision_id/reject

export interface ApprovalBackend {
  listPending(): PendingApproval[]
  act(decisionId: string, action: 'approve' | 'reject', who: { actor: string; comment: string; remote_addr: string }): Promise<ApprovalResult>
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
  token: string
  backend: ApprovalBackend
  logger: Logger
}

export interface ApprovalApi {
  port: number
  close(): Promise<void>
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** Constant-time comparison (hashing first makes the lengths equal). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '')
  return !!match && timingSafeEqual(digest(match[1]!.trim()), digest(token))
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
    if (size > limit) throw new Error('body too large')
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return {}
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('body must be a JSON object')
  return value as Record<string, unknown>
}

export async function startApprovalApi(options: ApprovalApiOptions): Promise<ApprovalApi> {
  if (!options.token) throw new Error('the approval API needs a bearer token (POLICY_API_TOKEN)')
  const { backend, logger } = options

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/'
    const method = req.method ?? 'GET'
    if (path === '/_health' || path === '/_ready') {
      const ok = path === '/_health' ? backend.healthy() : backend.ready()
      return send(res, ok ? 200 : 503, { ok })
    }
    const action = /^\/approvals\/([^/]+)\/(approve|reject)$/.exec(path)
    const remote = req.socket.remoteAddress ?? ''
    const refused = (result: ApprovalRecord['result'], comment: string): ApprovalRecord => ({
      action_id: randomUUID(),
      at: backend.now(),
      decision_id: action ? decodeURIComponent(action[1]!) : '',
      model_id: '',
      episode_id: '',
      action: (action?.[2] as 'approve' | 'reject' | undefined) ?? 'approve',
      result,
      actor: '',
      comment,
      remote_addr: remote,
      request_id: '',
    })
    if (!tokenMatches(req.headers.authorization, options.token)) {
      if (action && method === 'POST') await backend.audit(refused('unauthorized', 'missing or wrong bearer token'))
      logger.warn({ event: 'approval_api_unauthorized', path, remote }, 'approval API call without a valid token')
      res.setHeader('www-authenticate', 'Bearer')
      return send(res, 401, { error: 'unauthorized' })
    }
    if (method === 'GET' && path === '/approvals') return send(res, 200, { pending: backend.listPending() })
    if (method === 'POST' && action) {
      let body: Record<string, unknown>
      try {
        body = await readJson(req)
      } catch (error) {
        await backend.audit(refused('invalid', (error as Error).message))
        return send(res, 400, { error: (error as Error).message })
      }
      const actor = String(body.actor ?? req.headers['x-actor'] ?? 'token-holder').slice(0, 200)
      const comment = String(body.comment ?? '').slice(0, 2000)
      const result = await backend.act(decodeURIComponent(action[1]!), action[2] as 'approve' | 'reject', { actor, comment, remote_addr: remote })
      const status = result.status === 'not_found' ? 404 : result.status === 'not_pending' ? 409 : 200
      return send(res, status, result)
    }
    return send(res, 404, { error: `no route for ${method} ${path}` })
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
