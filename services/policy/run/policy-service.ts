import type { Kafka } from 'kafkajs'
import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import type { EventCodec } from '../../shared/codec/event-codec.ts'
import { Gauge, type Registry } from 'prom-client'
import { createBatchConsumer, type BatchConsumer } from '../../shared/kafka/batch-consumer.ts'
import { registerStallGauge } from '../../shared/kafka/stall-gauge.ts'
import type { RecordProducer } from '../../shared/kafka/producer.ts'
import type { TopicNames } from '../../shared/kafka/topics.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import { startApprovalApi, type ApprovalApi } from './approval-api.ts'
import type { ApproverTokens } from '../core/approver-tokens.ts'
import { createContextLoader, type ContextLoader } from '../store/context-loader.ts'
import type { PolicyConfig } from '../core/policy-config.ts'
import { PolicyPipeline } from './policy-pipeline.ts'
import { PolicyStore } from '../store/policy-store.ts'
import { createMonitorMark } from '../store/monitor-mark.ts'
import { RequestEmitter, topicReader, type EmitterFaults } from './request-emitter.ts'

export interface PolicyServiceDeps {
  /** How often produced requests are judged against newer model versions (default 60 s; 0 off). */
  retrainCheckMs?: number
  kafka: Kafka
  ch: ClickHouse
  codec: EventCodec
  producer: RecordProducer
  topics: TopicNames
  /** Validated policy per model_id (loadPolicies). */
  policies: Map<string, PolicyConfig>
  logger: Logger
  groupId: string
  /** The monitor's consumer group: decisions wait until it has finished their data. null: no
   *  monitor to wait for (triggers replayed from elsewhere, tests of the policy alone). */
  monitorGroupId: string | null
  /** Approval API; omitted means no API (decisions needing approval then wait). */
  api?: { port: number; tokens: ApproverTokens; host?: string }
  now?: () => number
  loader?: ContextLoader
  /** How long a restart may read the retrain-requests topic to find a request it is unsure was sent. */
  topicCheckTimeoutMs?: number
  /** Crash points for tests of the exactly-once send; `halted` makes the service act dead. */
  faults?: EmitterFaults & { halted?(): boolean }
  maxBatchSize?: number
  lingerMs?: number
  /** Where the consumer's stall gauge is registered (none: not exported). */
  registry?: Registry
  /** Unhealthy once a triggers partition with lag has not committed for this long (default 2 minutes). */
  stallMs?: number
  stallCheckMs?: number
}

export interface PolicyService {
  readonly id: string
  readonly pipeline: PolicyPipeline
  /** Loads state, sends what a previous run left unsent, then consumes triggers and serves the API. */
  start(): Promise<void>
  /** API closed, the batch in flight finished and committed, group left. Idempotent. */
  stop(): Promise<void>
  healthcheck(): boolean
  /** Port the approval API listens on, null without API. */
  apiPort(): number | null
}

/** The policy service: one consumer group over the triggers topic (keyed by model_id, so one
 *  instance sees a model's triggers in order), decisions into ClickHouse, requests to Kafka. */
export function createPolicyService(deps: PolicyServiceDeps): PolicyService {
  const store = new PolicyStore(deps.ch)
  const emitter = new RequestEmitter({
    store,
    producer: deps.producer,
    codec: deps.codec,
    topic: deps.topics.retrainRequests,
    logger: deps.logger,
    findProduced: topicReader(deps.kafka, deps.topics.retrainRequests, deps.topicCheckTimeoutMs),
    faults: deps.faults,
    now: deps.now,
  })
  const mark = deps.monitorGroupId === null ? null : createMonitorMark(deps.kafka, deps.ch, deps.topics, deps.monitorGroupId)
  const pipeline = new PolicyPipeline({
    ...(mark ? { mark } : {}),
    store,
    loader: deps.loader ?? createContextLoader(deps.ch),
    emitter,
    codec: deps.codec,
    policies: deps.policies,
    logger: deps.logger,
    deadLetter: { producer: deps.producer, topic: deps.topics.deadLetter },
    now: deps.now,
    halted: deps.faults?.halted,
  })
  const consumer: BatchConsumer = createBatchConsumer(
    deps.kafka,
    {
      groupId: deps.groupId,
      topics: [deps.topics.triggers],
      handleBatch: (records) => pipeline.handleBatch(records),
      maxBatchSize: deps.maxBatchSize ?? 500,
      lingerMs: deps.lingerMs ?? 100,
      stallMs: deps.stallMs,
      stallCheckMs: deps.stallCheckMs,
    },
    deps.logger,
  )
  if (deps.registry) {
    registerStallGauge(deps.registry, () => consumer.stalls())
    new Gauge({
      name: 'driftgate_policy_triggers_waiting',
      help: 'Triggers read but not decided yet: their decision step is not finished by the monitor (a lagging monitor shows here first).',
      registers: [deps.registry],
      collect() {
        this.set(pipeline.waitingTriggers())
      },
    })
  }
  let api: ApprovalApi | null = null
  let outcomeTimer: NodeJS.Timeout | null = null
  let outcomeRun: Promise<unknown> = Promise.resolve()
  let ready = false
  let stopped: Promise<void> | null = null
  const healthcheck = (): boolean => consumer.healthy()

  return {
    id: 'policy',
    pipeline,
    async start() {
      await pipeline.init()
      await consumer.start()
      if (deps.api) {
        api = await startApprovalApi({
          port: deps.api.port,
          host: deps.api.host,
          tokens: deps.api.tokens,
          logger: deps.logger,
          backend: {
            listPending: () => pipeline.listPending(),
            act: (id, action, who) => pipeline.act(id, action, who),
            investigate: (id, recorded, who) => pipeline.recordInvestigation(id, recorded, who),
            audit: (record) => store.writeApproval(record),
            healthy: healthcheck,
            ready: () => ready,
            now: deps.now ?? Date.now,
          },
        })
      }
      // Whether the retrains asked for helped: checked as new versions' labels mature.
      const checkEvery = deps.retrainCheckMs ?? 60_000
      if (checkEvery > 0)
        outcomeTimer = setInterval(() => {
          outcomeRun = outcomeRun.then(() =>
            pipeline
              .evaluateRetrains()
              .catch((error: unknown) => deps.logger.warn({ event: 'retrain_outcome_failed', err: error }, 'judging past retrains failed; next run retries')),
          )
        }, checkEvery)
      ready = true
      deps.logger.info({ event: 'policy_started', models: [...deps.policies.keys()], api_port: api?.port ?? null }, 'policy service started')
    },
    stop() {
      stopped ??= (async () => {
        ready = false
        if (outcomeTimer) clearInterval(outcomeTimer)
        await outcomeRun
        await api?.close()
        pipeline.close()
        await consumer.stop()
        await mark?.close()
      })()
      return stopped
    },
    healthcheck,
    apiPort: () => api?.port ?? null,
  }
}
