import { createRequire } from 'node:module'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { quietIdleConnections } from '../../../services/shared/kafka/request-queue-timer.ts'

// kafkajs's own RequestQueue (one per broker connection), with its scheduling of pending-request
// checks replaced: requests held back by the in-flight limit or a throttle still go out, and a
// queue with nothing waiting keeps no timer.

interface Queue {
  push(request: { entry: Entry; expectResponse: boolean; sendRequest(): void }): void
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void
  maybeThrottle(ms: number): void
  checkPendingRequests(): void
  destroy(): void
}
interface Entry {
  correlationId: number
  apiKey: number
  apiName: string
  apiVersion: number
  resolve(value: unknown): void
  reject(error: unknown): void
}

const require = createRequire(import.meta.url)
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (options: object) => Queue
const silent = { debug() {}, info() {}, warn() {}, error() {} }

let queue: Queue
let sent: number[]
let correlation = 0

function push(): number {
  const correlationId = correlation++
  const entry: Entry = { correlationId, apiKey: 1, apiName: 'Fetch', apiVersion: 11, resolve() {}, reject() {} }
  queue.push({ entry, expectResponse: true, sendRequest: () => sent.push(correlationId) })
  return correlationId
}
const answer = (correlationId: number): void => queue.fulfillRequest({ correlationId, payload: Buffer.alloc(0), size: 0 })

beforeAll(() => quietIdleConnections())
beforeEach(() => {
  vi.useFakeTimers()
  sent = []
  queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:9092', logger: silent })
})
afterEach(() => {
  queue.destroy()
  vi.useRealTimers()
})

describe('kafkajs request queue without idle wake-ups', () => {
  it('keeps no timer once nothing waits (kafkajs re-armed one every millisecond)', async () => {
    const checks = vi.spyOn(queue, 'checkPendingRequests')
    const id = push()
    answer(id)
    expect(sent).toEqual([id])
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(1_000)
    // Only the check made when the answer came.
    expect(checks).toHaveBeenCalledTimes(1)
  })

  it('sends a request held back by the in-flight limit when the one before is answered', async () => {
    const first = push()
    const second = push()
    expect(sent).toEqual([first])
    answer(first)
    expect(sent).toEqual([first, second])
    answer(second)
    // The check armed when the second was queued runs once, and arms nothing.
    await vi.advanceTimersByTimeAsync(10)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('sends a request held back by a throttle when the throttle ends, not before', async () => {
    queue.maybeThrottle(500)
    const id = push()
    await vi.advanceTimersByTimeAsync(499)
    expect(sent).toEqual([])
    await vi.advanceTimersByTimeAsync(2)
    expect(sent).toEqual([id])
    answer(id)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('checks a queue again after kafkajs’s interval while a request still waits', async () => {
    const first = push()
    const second = push()
    // Checked with nothing answered yet: the in-flight request still holds the second back.
    queue.checkPendingRequests()
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(10)
    expect(sent).toEqual([first])
    answer(first)
    expect(sent).toEqual([first, second])
  })
})
