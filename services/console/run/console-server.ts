import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import type { Kafka } from 'kafkajs'
import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import type { DriftgateConfig, ModelConfig } from '../../shared/config/model-config.ts'
import { scanTopic } from '../../shared/kafka/read-topic.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import type { ReferenceProfile } from '../../shared/records/reference-profile.ts'
import { deadLetterRow, type ModelIdReader } from '../../cli/dead-letters.ts'
import { recordInvestigation } from '../../cli/investigation.ts'
import { loadPolicies } from '../../policy/core/policy-config.ts'
import { loadReferenceProfile } from '../../monitor/run/runtime-models.ts'
import { DeadLetterTally } from '../core/dead-letter-counts.ts'
import { deadLettersPage, episodePage, modelPage, messagePage, overviewPage } from '../core/pages.ts'
import type { DeadLetterCount } from '../core/rows.ts'
import {
  episode,
  episodeApprovals,
  episodeDecisions,
  episodeInvestigations,
  episodeRequest,
  featureSeries,
  modelAlerts,
  modelEpisodes,
  modelState,
  windowSeries,
} from '../store/console-queries.ts'

// The web console: server-rendered pages over the read-only ClickHouse user, and approve / reject
// forwarded to the policy service's approval API with the token the approver typed (the console
// keeps no token of its own, so the audit names the person who acted).

export interface DeadLetterSource {
  topic: string
  count(): Promise<{ rows: DeadLetterCount[]; read: number; complete: boolean }>
}

export interface ConsoleOptions {
  ch: ClickHouse
  config: DriftgateConfig
  /** Base URL of the policy service's approval API, e.g. http://127.0.0.1:8090. */
  policyApiUrl: string
  deadLetters: DeadLetterSource
  logger: Logger
  port: number
  host?: string
  now?: () => number
}

export interface ConsoleServer {
  port: number
  url: string
  close(): Promise<void>
}

/** Dead letters counted by code and model, reading the topic to its end. */
export function kafkaDeadLetters(kafka: Kafka, topic: string, modelIdOf: ModelIdReader, timeoutMs = 10_000): DeadLetterSource {
  return {
    topic,
    async count() {
      const tally = new DeadLetterTally()
      const scan = await scanTopic(kafka, topic, {
        toEnd: true,
        timeoutMs,
        onRecord: async (record) => {
          const row = deadLetterRow(record, null)
          tally.add(row.code, await modelIdOf(record.value, row.sourceTopic), row.failedAt)
        },
      })
      return { rows: tally.rows(), read: scan.read, complete: scan.reachedEnd }
    },
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** Back to the episode page, with what the policy API answered. */
const episodeBack = (model: string, episode: string, ok: boolean, text: string): string =>
  `/models/${encodeURIComponent(model)}/episodes/${encodeURIComponent(episode)}?ok=${ok ? 1 : 0}&msg=${encodeURIComponent(text.slice(0, 400))}`

async function readForm(req: IncomingMessage, limit = 16 * 1024): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new HttpError(413, 'form too large')
    chunks.push(chunk as Buffer)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

export async function startConsole(o: ConsoleOptions): Promise<ConsoleServer> {
  const now = o.now ?? Date.now
  const policies = loadPolicies(o.config)
  const reference = (model: ModelConfig): ReferenceProfile | null => {
    if (!model.reference_profile) return null
    // Read per page view: `driftgate reference build` may replace it while the console runs.
    try {
      return loadReferenceProfile(resolve(o.config.baseDir, model.reference_profile))
    } catch (error) {
      o.logger.warn({ event: 'console_reference_unreadable', model: model.model_id, error: (error as Error).message }, 'reference profile unreadable')
      return null
    }
  }
  const modelById = (id: string): ModelConfig => {
    const model = o.config.models.find((m) => m.model_id === id)
    if (!model) throw new HttpError(404, `no model '${id}' in the config`)
    return model
  }
  const smallest = (m: ModelConfig): number => Math.min(...m.windows)

  const routes: { method: string; pattern: RegExp; handle(match: string[], url: URL, req: IncomingMessage, res: ServerResponse): Promise<string | void> }[] = [
    {
      method: 'GET',
      pattern: /^\/$/,
      handle: async () => overviewPage(await Promise.all(o.config.models.map((m) => modelState(o.ch, m, smallest(m)))), now()),
    },
    {
      method: 'GET',
      pattern: /^\/models\/([^/]+)$/,
      handle: async ([id], url) => {
        const model = modelById(id!)
        const wanted = Number(url.searchParams.get('size'))
        const size = model.windows.includes(wanted) ? wanted : smallest(model)
        const [windows, alerts, episodes] = await Promise.all([
          windowSeries(o.ch, model.model_id, size),
          modelAlerts(o.ch, model.model_id),
          modelEpisodes(o.ch, model.model_id),
        ])
        const features = windows.length ? await featureSeries(o.ch, model.model_id, size, windows[0]!.window_start) : []
        const calendar = policies.get(model.model_id)?.calendar ?? []
        return modelPage({
          modelId: model.model_id,
          task: model.task,
          windowSizeMs: size,
          windowSizes: model.windows,
          windows,
          features,
          featureOrder: [...model.features.numeric, ...model.features.categorical, '__score', '__predicted_class', '__predicted_value'],
          alerts,
          episodes,
          reference: reference(model),
          events: calendar.map((c) => ({ name: c.name, from: c.from, to: c.to })),
        })
      },
    },
    {
      method: 'GET',
      pattern: /^\/models\/([^/]+)\/episodes\/([^/]+)$/,
      handle: async ([id, ep], url) => {
        const model = modelById(id!)
        const row = await episode(o.ch, model.model_id, ep!)
        if (!row) throw new HttpError(404, `no episode '${ep}' of ${model.model_id}`)
        const decisions = await episodeDecisions(o.ch, model.model_id, ep!)
        const [request, approvals, investigations] = await Promise.all([
          episodeRequest(o.ch, model.model_id, ep!),
          episodeApprovals(
            o.ch,
            ep!,
            decisions.map((d) => d.decision_id),
          ),
          episodeInvestigations(o.ch, model.model_id, ep!),
        ])
        const msg = url.searchParams.get('msg')
        return episodePage({
          episode: row,
          decisions,
          request,
          approvals,
          investigations,
          flash: msg ? { ok: url.searchParams.get('ok') === '1', text: msg } : undefined,
        })
      },
    },
    {
      method: 'POST',
      pattern: /^\/models\/([^/]+)\/episodes\/([^/]+)\/decisions\/([^/]+)\/(approve|reject)$/,
      handle: async ([id, ep, decision, action], _url, req, res) => {
        const form = await readForm(req)
        const token = form.get('token') ?? ''
        let text: string
        let ok = false
        try {
          const answer = await fetch(`${o.policyApiUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(decision!)}/${action}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ comment: (form.get('comment') ?? '').slice(0, 500) }),
            signal: AbortSignal.timeout(15_000),
          })
          const body = (await answer.json().catch(() => ({}))) as Record<string, unknown>
          ok = answer.ok
          text = ok
            ? `${action === 'approve' ? 'Approved' : 'Rejected'}: ${JSON.stringify(body)}`
            : `The policy API refused (${answer.status}): ${String(body.error ?? '')}`
        } catch (error) {
          text = `The policy API at ${o.policyApiUrl} did not answer: ${(error as Error).message}`
        }
        res.writeHead(303, { location: episodeBack(id!, ep!, ok, text) })
        res.end()
      },
    },
    {
      method: 'POST',
      pattern: /^\/models\/([^/]+)\/episodes\/([^/]+)\/investigation$/,
      handle: async ([id, ep], _url, req, res) => {
        const form = await readForm(req)
        const outcome = form.get('outcome') ?? ''
        const fixedAt = (form.get('fixed_at') ?? '').trim()
        let text: string
        let ok = false
        try {
          text = await recordInvestigation({
            api: o.policyApiUrl,
            token: form.get('token') ?? '',
            episodeId: ep!,
            outcome,
            fixedAt: outcome === 'pipeline_bug' && fixedAt ? fixedAt : undefined,
            comment: (form.get('comment') ?? '').slice(0, 2000),
          })
          ok = true
        } catch (error) {
          text = (error as Error).message
        }
        res.writeHead(303, { location: episodeBack(id!, ep!, ok, text) })
        res.end()
      },
    },
    {
      method: 'GET',
      pattern: /^\/dead-letters$/,
      handle: async () => {
        const counted = await o.deadLetters.count()
        return deadLettersPage(counted.rows, { topic: o.deadLetters.topic, read: counted.read, complete: counted.complete })
      },
    },
  ]

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://console')
    const started = performance.now()
    if (url.pathname === '/_health' || url.pathname === '/_ready') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
      return
    }
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const route = routes.find((r) => r.method === req.method && r.pattern.test(path))
    const send = (status: number, html: string): void => {
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      })
      res.end(html)
    }
    if (!route) return send(404, messagePage(`No page at ${path}.`))
    let match: string[]
    try {
      match = route.pattern
        .exec(path)!
        .slice(1)
        .map((s) => decodeURIComponent(s))
    } catch {
      return send(400, messagePage('Malformed percent-encoding in the address.', 'Bad request'))
    }
    route.handle(match, url, req, res).then(
      (html) => {
        if (typeof html === 'string') send(200, html)
        o.logger.debug({ event: 'console_page', path, ms: Math.round(performance.now() - started) }, 'page served')
      },
      (error: unknown) => {
        if (error instanceof HttpError) return send(error.status, messagePage(error.message, error.status === 404 ? 'Not found' : 'Refused'))
        o.logger.error({ event: 'console_page_failed', path, error: (error as Error).message }, 'page failed')
        if (!res.headersSent) send(500, messagePage(`This page failed: ${(error as Error).message}`, 'Error'))
      },
    )
  })
  await new Promise<void>((done, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host ?? '127.0.0.1', () => done())
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `http://${o.host && o.host !== '0.0.0.0' ? o.host : '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
  }
}
