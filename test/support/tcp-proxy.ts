import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { listenLocal } from './listen.ts'

export interface TcpProxy {
  /** `http://127.0.0.1:<port>` of the proxy. */
  url: string
  port: number
  /** Cuts every open connection and refuses new ones (the server looks down). */
  pause(): void
  resume(): void
  close(): Promise<void>
}

/**
 * Forwards TCP connections on a free local port to `target` (host:port), and can make that
 * dependency look down without stopping the real server other tests share.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>()
  let paused = false
  const server: Server = createServer((client) => {
    if (paused) return client.destroy()
    const upstream = createConnection(target)
    open.add(client)
    open.add(upstream)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  const port = await listenLocal(server)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pause() {
      paused = true
      for (const s of open) s.destroy()
      open.clear()
    },
    resume() {
      paused = false
    },
    close() {
      for (const s of open) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
