import { pino, type Logger } from 'pino'

export type { Logger }

/** JSON logs with snake_case event names in `event`; level from LOG_LEVEL. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { service: name } })
}
