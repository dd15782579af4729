import type { Kafka } from 'kafkajs'
import type { EventCodec } from '../../shared/codec/event-codec.ts'
import type { RecordProducer } from '../../shared/kafka/producer.ts'
import { readTopic } from '../../shared/kafka/read-topic.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import type { PolicyStore, StoredRequest } from '../store/policy-store.ts'

// Sends each RetrainRequest exactly once, across crashes and restarts:
//
//   1. the request is recorded in ClickHouse (status recorded) with the decision, before any send;
//   2. status producing is written, then the request is produced (acks=all, idempotent producer);
//   3. once the broker acknowledged it, status produced is written.
//
// A restart resends what is recorded but was never attempted (a crash after 1: exactly one
// message). A request left in producing (a crash between 2 and 3) may or may not be on the topic:
// the topic is read back and the request is resent only when its request_id is not found, so the
// message count stays one. If that read cannot see the whole topic in its time budget, the resend
// can make a second message with the same request_id: consumers deduplicate by request_id, which
// is deterministic (hash of model and episode), so the number of distinct requests is still one.

export const REQUEST_ID_HEADER = 'driftgate.request_id'

export interface EmitterFaults {
  /** Called before anything is sent for a recorded request (a crash point for tests). */
  afterRecord?(request: StoredRequest): void | Promise<void>
  /** Called after the broker acknowledged, before status produced is written. */
  afterProduce?(request: StoredRequest): void | Promise<void>
}

export interface RequestEmitterDeps {
  store: PolicyStore
  producer: RecordProducer
  codec: EventCodec
  topic: string
  logger: Logger
  /** Request ids among `ids` already on the topic (read back after an uncertain send). */
  findProduced?(ids: string[]): Promise<Set<string>>
  faults?: EmitterFaults
  now?: () => number
}

/** Reads the (low-volume) retrain-requests topic to its end (at most `timeoutMs`) and returns the ids found. */
export function topicReader(kafka: Kafka, topic: string, timeoutMs = 10_000): (ids: string[]) => Promise<Set<string>> {
  return async (ids) => {
    const wanted = new Set(ids)
    const records = await readTopic(kafka, topic, { toEnd: true, timeoutMs })
    return new Set(records.map((r) => r.headers[REQUEST_ID_HEADER] ?? '').filter((id) => wanted.has(id)))
  }
}

export class RequestEmitter {
  /** Every known request by id (all statuses): the one-per-episode check and the cooldown history. */
  readonly requests = new Map<string, StoredRequest>()
  private readonly now: () => number

  constructor(private readonly deps: RequestEmitterDeps) {
    this.now = deps.now ?? Date.now
  }

  restore(requests: StoredRequest[]): void {
    this.requests.clear()
    for (const r of requests) this.requests.set(r.request.request_id, r)
  }

  has(requestId: string): boolean {
    return this.requests.has(requestId)
  }

  /** Remembers a request that was just written with status recorded. */
  recorded(request: StoredRequest): void {
    if (!this.requests.has(request.request.request_id)) this.requests.set(request.request.request_id, request)
  }

  pending(): StoredRequest[] {
    return [...this.requests.values()].filter((r) => r.status !== 'produced').sort((a, b) => a.request.requested_at - b.request.requested_at)
  }

  /** Sends every request not yet acknowledged. Throws on failure (the caller retries). */
  async emitPending(): Promise<number> {
    const pending = this.pending()
    if (pending.length === 0) return 0
    const uncertain = pending.filter((r) => r.status === 'producing').map((r) => r.request.request_id)
    const alreadyThere = uncertain.length > 0 && this.deps.findProduced ? await this.deps.findProduced(uncertain) : new Set<string>()
    let sent = 0
    for (const entry of pending) {
      const id = entry.request.request_id
      if (alreadyThere.has(id)) {
        this.deps.logger.info({ event: 'retrain_request_found_on_topic', request_id: id }, 'request was sent before the restart; not sent again')
        await this.setStatus(entry, 'produced')
        continue
      }
      if (entry.status === 'recorded') {
        await this.deps.faults?.afterRecord?.(entry)
        await this.setStatus(entry, 'producing')
      }
      const value = await this.deps.codec.encode(this.deps.topic, 'RetrainRequest', entry.request)
      await this.deps.producer.send(this.deps.topic, [{ key: entry.request.model_id, value, headers: { [REQUEST_ID_HEADER]: id } }])
      await this.deps.faults?.afterProduce?.(entry)
      await this.setStatus(entry, 'produced')
      sent++
      this.deps.logger.info(
        {
          event: 'retrain_requested',
          request_id: id,
          model_id: entry.request.model_id,
          episode_id: entry.request.episode_id,
          decision_id: entry.request.decision_id,
        },
        'retrain request sent',
      )
    }
    return sent
  }

  private async setStatus(entry: StoredRequest, status: StoredRequest['status']): Promise<void> {
    const next = { ...entry, status, produced_at: status === 'produced' ? this.now() : entry.produced_at }
    await this.deps.store.writeRequests([next])
    this.requests.set(entry.request.request_id, next)
  }
}
