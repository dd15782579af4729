import { pino, type DestinationStream, type Logger } from 'pino'

export type { Logger }

/** Keys whose values never reach a log line, wherever pino meets them (top level or one below). */
const SECRET_KEYS = ['authorization', 'token', 'password', 'webhookToken', 'cookie']
const REDACT = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.headers.${k}`])

/** `scheme://user:secret@host` → `scheme://user:***@host`. */
export function hideUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]+):[^\s@/]+@/gi, '$1:***@')
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return hideUrlCredentials(value)
  // Errors go to pino's serializer whole (their message and stack are not own enumerable keys).
  if (value instanceof Error) return value
  if (depth > 0 && value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, scrub(v, depth - 1)]))
  }
  return value
}

/** JSON logs with snake_case event names in `event`; level from LOG_LEVEL. Secrets (tokens,
 *  passwords, authorization headers, credentials in URLs) are replaced before writing. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    base: { service: name },
    redact: { paths: REDACT, censor: '***' },
    formatters: { log: (object: Record<string, unknown>) => scrub(object, 2) as Record<string, unknown> },
    hooks: {
      logMethod(args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? hideUrlCredentials(a) : a)),
        )
      },
    },
  }
  return destination ? pino(options, destination) : pino(options)
}
