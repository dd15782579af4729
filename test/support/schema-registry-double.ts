import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { listenLocal } from './listen.ts'

// A Confluent-REST-compatible schema registry double: the part of the API that
// @kafkajs/confluent-schema-registry calls (register, look up by id, latest version, subject
// config). Schemas are kept in memory; ids are global and the same schema text gets the same id,
// as in the real registry. No compatibility checking: producers' compatibility is tested by the
// codec tests with real Avro resolution.

interface Version {
  id: number
  version: number
  schema: string
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

export interface RegistryDouble {
  url: string
  server: Server
  close(): Promise<void>
}

export function createRegistryHandler() {
  const idsBySchema = new Map<string, number>()
  const schemasById = new Map<number, string>()
  const subjects = new Map<string, Version[]>()
  const configs = new Map<string, string>()

  const normalize = (schema: string): string => {
    try {
      return JSON.stringify(JSON.parse(schema))
    } catch {
      return schema
    }
  }

  const register = (subject: string, schema: string): Version => {
    const text = normalize(schema)
    let id = idsBySchema.get(text)
    if (id === undefined) {
      id = schemasById.size + 1
      idsBySchema.set(text, id)
      schemasById.set(id, text)
    }
    const versions = subjects.get(subject) ?? []
    const existing = versions.find((v) => v.id === id)
    if (existing) return existing
    const version = { id, version: versions.length + 1, schema: text }
    versions.push(version)
    subjects.set(subject, versions)
    return version
  }

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': CONTENT_TYPE })
    res.end(JSON.stringify(body))
  }
  const notFound = (res: ServerResponse, code: number, message: string): void => send(res, 404, { error_code: code, message })

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {}
    const path = decodeURI(new URL(req.url ?? '/', 'http://registry').pathname).replace(/\/+$/, '')
    const method = req.method ?? 'GET'
    let m: RegExpExecArray | null

    if (method === 'GET' && path === '/subjects') return send(res, 200, [...subjects.keys()])
    if (method === 'GET' && (m = /^\/schemas\/ids\/(\d+)$/.exec(path))) {
      const schema = schemasById.get(Number(m[1]))
      return schema ? send(res, 200, { schema }) : notFound(res, 40403, 'Schema not found')
    }
    if ((m = /^\/config\/(.+)$/.exec(path))) {
      const subject = m[1]!
      if (method === 'PUT') {
        configs.set(subject, String(body.compatibility ?? 'BACKWARD'))
        return send(res, 200, { compatibility: configs.get(subject) })
      }
      const level = configs.get(subject)
      return level ? send(res, 200, { compatibilityLevel: level }) : notFound(res, 40401, 'Subject not found')
    }
    if (method === 'POST' && (m = /^\/subjects\/(.+)\/versions$/.exec(path))) {
      const version = register(m[1]!, String(body.schema))
      return send(res, 200, { id: version.id })
    }
    if (method === 'POST' && (m = /^\/subjects\/([^/]+)$/.exec(path))) {
      const subject = m[1]!
      const text = normalize(String(body.schema))
      const found = subjects.get(subject)?.find((v) => v.schema === text)
      return found ? send(res, 200, { subject, ...found }) : notFound(res, 40403, 'Schema not found')
    }
    if (method === 'GET' && (m = /^\/subjects\/(.+)\/versions\/(latest|\d+)$/.exec(path))) {
      const versions = subjects.get(m[1]!)
      if (!versions?.length) return notFound(res, 40401, 'Subject not found')
      const version = m[2] === 'latest' ? versions[versions.length - 1] : versions.find((v) => v.version === Number(m![2]))
      return version ? send(res, 200, { subject: m[1], ...version }) : notFound(res, 40402, 'Version not found')
    }
    return notFound(res, 404, `no route for ${method} ${path}`)
  }
}

/** Starts the double on 127.0.0.1 (port 0 picks a free port). */
export async function startRegistryDouble(port = 0): Promise<RegistryDouble> {
  const handle = createRegistryHandler()
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': CONTENT_TYPE })
      res.end(JSON.stringify({ error_code: 500, message: String(error) }))
    })
  })
  const bound = await listenLocal(server, port)
  return {
    url: `http://127.0.0.1:${bound}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

// Run as a process for local development: `tsx test/support/schema-registry-double.ts [port]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[2] ?? process.env.SCHEMA_REGISTRY_PORT ?? 8081)
  const registry = await startRegistryDouble(port)
  console.log(`schema registry double listening on ${registry.url}`)
  const stop = (): void => void registry.close().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
