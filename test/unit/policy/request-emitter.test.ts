import { describe, expect, it } from 'vitest'
import { pino } from 'pino'
import type { EventCodec } from '../../../services/shared/codec/event-codec.ts'
import type { RecordProducer } from '../../../services/shared/kafka/producer.ts'
import { decide } from '../../../services/policy/core/decide.ts'
import type { PolicyStore, StoredRequest } from '../../../services/policy/store/policy-store.ts'
import { REQUEST_ID_HEADER, RequestEmitter } from '../../../services/policy/run/request-emitter.ts'
import { checkTrigger } from '../../../services/policy/core/trigger-shape.ts'
import { context, policy, trigger } from './fixtures.ts'

function setUp(found: string[] = []) {
  const writes: { id: string; status: string }[] = []
  const sent: { topic: string; key: unknown; headers: unknown }[] = []
  const store = {
    writeRequests: async (rows: StoredRequest[]) => void writes.push(...rows.map((r) => ({ id: r.request.request_id, status: r.status }))),
  } as unknown as PolicyStore
  const producer: RecordProducer = {
    send: async (topic, records) => void sent.push(...records.map((r) => ({ topic, key: r.key, headers: r.headers }))),
    close: async () => undefined,
  }
  const codec = { encode: async () => Buffer.from([0, 0, 0, 0, 1]) } as unknown as EventCodec
  const emitter = new RequestEmitter({
    store,
    producer,
    codec,
    topic: 'retrain-requests',
    logger: pino({ level: 'silent' }),
    findProduced: async () => new Set(found),
    now: () => 42,
  })
  const request = decide(context(), policy()).request!
  const stored: StoredRequest = { request, cost: 150, approved_by: '', status: 'recorded', produced_at: 0 }
  return { emitter, writes, sent, stored }
}

describe('request emitter', () => {
  it('marks producing before the send and produced after it, keyed by model with the request_id header', async () => {
    const { emitter, writes, sent, stored } = setUp()
    emitter.recorded(stored)
    expect(await emitter.emitPending()).toBe(1)
    const id = stored.request.request_id
    expect(writes).toEqual([
      { id, status: 'producing' },
      { id, status: 'produced' },
    ])
    expect(sent).toEqual([{ topic: 'retrain-requests', key: 'credit-default', headers: { [REQUEST_ID_HEADER]: id } }])
    expect(await emitter.emitPending()).toBe(0)
    expect(emitter.requests.get(id)?.produced_at).toBe(42)
  })

  it('a request left in producing is not sent again when the topic already has it', async () => {
    const { emitter, writes, sent, stored } = setUp()
    const { emitter: found } = setUp([stored.request.request_id])
    found.restore([{ ...stored, status: 'producing' }])
    expect(await found.emitPending()).toBe(0)
    // The other emitter (topic without it) sends it.
    emitter.restore([{ ...stored, status: 'producing' }])
    expect(await emitter.emitPending()).toBe(1)
    expect(sent).toHaveLength(1)
    expect(writes.map((w) => w.status)).toEqual(['produced'])
  })
})

describe('trigger shape', () => {
  it('accepts a trigger, keeps unknown kinds, and rejects bad times and numbers naming the field', () => {
    expect(checkTrigger(trigger())).toEqual(trigger())
    expect(checkTrigger({ ...trigger(), kind: 'concept_shift' }).kind).toBe('concept_shift')
    expect(() => checkTrigger({ ...trigger(), first_seen: 'yesterday' })).toThrow(/first_seen/)
    expect(() => checkTrigger({ ...trigger(), first_seen: 10, last_seen: 5 })).toThrow(/last_seen: is before first_seen/)
    expect(() => checkTrigger({ ...trigger(), status: 'open' })).toThrow(/status/)
  })
})
