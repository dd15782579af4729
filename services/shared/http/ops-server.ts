import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'

export interface OpsServer {
  port: number
  close(): Promise<void>
}

/**
 * /metrics (Prometheus), /_health (fails when the service says it is stuck) and /_ready
 * (false once shutdown began, so a load balancer stops sending before we stop working).
 */
export async function startOpsServer(options: { port: number; host?: string; registry: Registry; healthy(): boolean; ready(): boolean }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType })
          res.end(text)
        },
        (error: unknown) => {
          res.writeHead(500)
          res.end(String(error))
        },
      )
      return
    }
    if (path === '/_health' || path === '/_ready') {
      const ok = path === '/_health' ? options.healthy() : options.ready()
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok }))
      return
    }
    res.writeHead(404)
    res.end()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
