import { createRequire } from 'node:module'

// kafkajs 2.2.4 re-arms a timer on every broker connection after each check of its pending
// requests, even when nothing is pending, with a negative delay: 1,000 wake-ups a second per
// connection for as long as the client lives (kafkajs issues 1556 and 1704, fix not released).
// An idle monitor spent 3–8% of a core on it. Pending requests are checked anyway when a request
// is queued, completes or times out, so a check needs a timer only while some request waits.

/** The part of kafkajs's RequestQueue (internal) this patch reads and replaces. */
interface RequestQueue {
  pending: unknown[]
  throttledUntil: number
  throttleCheckTimeoutId: NodeJS.Timeout | null
  checkPendingRequests(): void
  scheduleCheckPendingRequests(): void
}

/** kafkajs's own delay before checking again requests held back by in-flight limits, ms. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10

/** Schedules a check of the queue's pending requests, when some wait: at the end of a throttle,
 *  else after CHECK_PENDING_REQUESTS_INTERVAL (kafkajs's rule); nothing when none wait. */
function scheduleCheckPendingRequests(this: RequestQueue): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return
  const throttled = this.throttledUntil - Date.now()
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null
      this.checkPendingRequests()
    },
    throttled > 0 ? throttled : CHECK_PENDING_REQUESTS_INTERVAL,
  )
}

/** Replaces kafkajs's scheduling of pending-request checks with the one above. Idempotent. */
export function quietIdleConnections(): void {
  const require = createRequire(import.meta.url)
  const queue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue }
  queue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests
}
