import { loadEnv } from '../../shared/config/env.ts'
import { createLogger } from '../../shared/logging/logger.ts'
import { startConsoleFromEnv } from './start.ts'

// The console as a process (docker-compose's `console` service); `driftgate console` runs the same.
const env = loadEnv()
const logger = createLogger('console', env.LOG_LEVEL)
const server = await startConsoleFromEnv(env, logger)
logger.info({ event: 'console_started', url: server.url }, `console at ${server.url}`)
const stop = (): void => void server.closeAll().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
