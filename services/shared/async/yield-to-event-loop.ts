import { setImmediate } from 'node:timers/promises'

/**
 * Lets timers and I/O run (Kafka heartbeats, health checks, HTTP responses) in the middle of a
 * long synchronous stretch of work. Awaiting an already resolved promise does not: microtasks
 * run before the event loop gets a turn.
 */
export function yieldToEventLoop(): Promise<void> {
  return setImmediate()
}

/** Records handled between two yields in a loop over a batch (about a few milliseconds each). */
export const RECORDS_PER_YIELD = 500
