import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import type { EventCodec } from '../../shared/codec/event-codec.ts'
import { createBatchConsumer, type BatchConsumer } from '../../shared/kafka/batch-consumer.ts'
import { registerStallGauge } from '../../shared/kafka/stall-gauge.ts'
import type { RecordProducer } from '../../shared/kafka/producer.ts'
import type { TopicNames } from '../../shared/kafka/topics.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import { ComputedProgress } from '../../shared/store/computed-progress.ts'
import { partitionsElsewhere } from '../core/windows/data-steps.ts'
import type { AlertDelivery } from './alerting/index.ts'
import { AlertPublisher } from './alert-publisher.ts'
import { DetectionRunner } from './detection-runner.ts'
import { createMonitorMetrics } from './monitor-metrics.ts'
import { MonitorPipeline, type PipelineDeps } from './monitor-pipeline.ts'
import type { MonitorSettings } from './monitor-settings.ts'
import type { RuntimeModel } from '../core/runtime-model.ts'
import { FinishedMarks } from './finished-marks.ts'
import { LabelHealth } from '../store/label-health.ts'
import { ModelWatermark } from '../store/model-watermark.ts'
import { WindowStore } from '../store/window-store.ts'

export interface MonitorServiceDeps {
  kafka: Kafka
  ch: ClickHouse
  codec: EventCodec
  producer: RecordProducer
  topics: TopicNames
  models: Map<string, RuntimeModel>
  logger: Logger
  registry: Registry
  settings: MonitorSettings
  /** Retry backoff of a failing batch and how often stalls are checked (the consumer loop's defaults otherwise). */
  retry?: { initialMs?: number; maxMs?: number }
  stallCheckMs?: number
  /** How often windows held open by a lagging partition are retried. */
  openWindowRetryMs?: number
  /** On-call delivery of alert transitions (Alertmanager, webhook); alerts still go to Kafka and ClickHouse without it. */
  alerts?: AlertDelivery
  /** Run the detectors on recomputed windows (default true). */
  detection?: boolean
  onWindowsComputed?: PipelineDeps['onWindowsComputed']
}

export interface MonitorService {
  readonly id: string
  readonly pipeline: MonitorPipeline
  start(): Promise<void>
  /** Finishes the batch in flight, commits, leaves the group. Idempotent. */
  stop(): Promise<void>
  healthcheck(): boolean
}

/** The monitor: one consumer group over predictions and labels feeding the pipeline. */
export function createMonitorService(deps: MonitorServiceDeps): MonitorService {
  const metrics = createMonitorMetrics(deps.registry)
  const { settings } = deps
  const groupId = settings.groupId
  let watermark: ModelWatermark | undefined
  /** Partitions of the predictions topic (and of labels: they are co-partitioned). */
  let partitionCount = 0
  // How far the monitor is finished, for the policy (it decides about data the monitor is past).
  const finished = new FinishedMarks(new ComputedProgress(deps.ch, groupId), deps.logger)
  const detection =
    deps.detection === false
      ? null
      : new DetectionRunner({
          ch: deps.ch,
          logger: deps.logger,
          publisher: new AlertPublisher({
            ch: deps.ch,
            codec: deps.codec,
            producer: deps.producer,
            triggersTopic: deps.topics.triggers,
            alerts: deps.alerts,
            logger: deps.logger,
          }),
        })
  // Detection runs inside the batch, before its offsets are committed: a crash re-runs it, and
  // it derives the same alerts from the same stored windows.
  const onWindowsComputed: PipelineDeps['onWindowsComputed'] = async (model, computed, dataTime) => {
    await detection?.onWindowsComputed(model, computed, dataTime)
    await deps.onWindowsComputed?.(model, computed, dataTime)
  }
  const pipeline = new MonitorPipeline({
    ch: deps.ch,
    codec: deps.codec,
    producer: deps.producer,
    topics: deps.topics,
    models: deps.models,
    windows: new WindowStore(deps.ch),
    get watermark() {
      return watermark
    },
    metrics,
    logger: deps.logger,
    settings,
    onWindowsComputed,
    rejudge: (model, sizeMs, starts, dataTime) => detection?.rejudge(model, sizeMs, starts, dataTime) ?? Promise.resolve(),
    // The consumer's admin connection (declared below; called only once it runs).
    partitionEnds: () => consumer.endOffsets(),
  })
  const consumer: BatchConsumer = createBatchConsumer(
    deps.kafka,
    {
      groupId,
      topics: [deps.topics.predictions, deps.topics.labels],
      handleBatch: async (records, progress) => {
        const result = await pipeline.handleBatch(records, progress)
        finished.track(result.storedProgress, result.settled)
        return result
      },
      isolate: { mayBeRecords: (error) => pipeline.mayBeRecords(error), reject: (record, error) => pipeline.rejectRecord(record, error) },
      stallMs: settings.stallMs,
      stallCheckMs: deps.stallCheckMs,
      onPartitionsAssigned: (partitions) => {
        // Known at once, so that no data-time step is computed before every partition is read.
        pipeline.partitionsAssigned(partitions.map((p) => ({ ...p, idle: false })))
        const elsewhere = settings.stepMs > 0 ? partitionsElsewhere(partitions, [deps.topics.predictions, deps.topics.labels], partitionCount) : []
        if (elsewhere.length > 0)
          deps.logger.warn(
            { event: 'steps_partial_assignment', elsewhere },
            'MONITOR_STEP_MS needs one monitor instance per group: steps wait only for the partitions this instance reads',
          )
        markIdlePartitions(partitions).catch((error: unknown) =>
          deps.logger.warn({ event: 'partition_progress_failed', err: error }, 'could not check assigned partitions for pending records'),
        )
      },
      onPartitionsRevoked: (partitions) => pipeline.partitionsRevoked(partitions),
      onRebalance: () => pipeline.settleNow(),
      maxBatchSize: settings.maxBatchSize,
      lingerMs: settings.lingerMs,
      retry: deps.retry,
      // A batch settles when the windows it touched were recomputed, which for the open window
      // can take a refresh interval; an unsettled batch holds only its offsets.
      maxUnsettledBatches: 1_000,
    },
    deps.logger,
  )
  registerStallGauge(deps.registry, () => consumer.stalls())
  // A partition with nothing to read (committed offset at its end) must not hold windows open.
  /** Partitions with nothing to read hold no window open and no decision back. */
  const markIdlePartitions = async (partitions: { topic: string; partition: number }[]): Promise<void> => {
    if (partitions.length === 0) return
    const read = await consumer.partitionOffsets(partitions)
    const marks = partitions.map(({ topic, partition }) => {
      const at = read.find((o) => o.topic === topic && o.partition === partition)
      const idle = at !== undefined && (at.high === at.low || (at.committed >= 0n && at.committed >= at.high))
      return { topic, partition, idle, ...(idle && at ? { end: at.high } : {}) }
    })
    finished.assigned(marks)
    pipeline.partitionsAssigned(marks)
    await watermark?.markCaughtUp(marks.filter((m) => m.idle && m.topic === deps.topics.predictions).map((m) => m.partition))
  }
  const labelHealth = new LabelHealth(deps.ch)
  const healthEvery = settings.labelHealthIntervalMs
  let healthTimer: NodeJS.Timeout | null = null
  let healthRun: Promise<void> = Promise.resolve()
  let retryTimer: NodeJS.Timeout | null = null
  let retryRun: Promise<void> = Promise.resolve()
  const retryOpen = (): void => {
    retryRun = pipeline
      .retryOpenWindows()
      .then(() => pipeline.closeIdleWindows())
      .then(() => pipeline.retryFailedWindows())
      .catch((error: unknown) =>
        deps.logger.warn({ event: 'open_window_retry_failed', err: error }, 'retry or idle close of open windows failed; next run retries'),
      )
  }
  const updateLabelHealth = (): void => {
    healthRun = (async () => {
      for (const model of deps.models.values()) {
        // On the model's owner only: an update records the new counts, so another instance's
        // would take the change whose windows the owner must judge again.
        if (!pipeline.owns(model.config.model_id)) continue
        try {
          const { changed } = await labelHealth.update(model)
          // A window judged with the old counts is judged again: a join-health alert raised while
          // labels waited for their predictions resolves once they joined.
          pipeline
            .recheck(model.config.model_id, Math.min(...model.config.windows), changed)
            .catch((error: unknown) => deps.logger.warn({ event: 'join_health_recheck_failed', err: error }, 'judging windows again failed'))
        } catch (error) {
          deps.logger.warn({ event: 'label_health_failed', model_id: model.config.model_id, err: error }, 'join health update failed; next run retries')
        }
      }
    })()
  }
  // Join health recounts the labels of the lookback in ClickHouse: with millions of them that
  // takes seconds, so the next run waits at least ten times as long as the last one took (it
  // then costs at most a tenth of ClickHouse's time).
  const scheduleLabelHealth = (delayMs: number): void => {
    healthTimer = setTimeout(() => {
      const started = Date.now()
      updateLabelHealth()
      void healthRun.then(() => {
        if (healthTimer !== null) scheduleLabelHealth(Math.max(healthEvery, 10 * (Date.now() - started)))
      })
    }, delayMs)
  }
  return {
    id: 'monitor',
    pipeline,
    async start() {
      const admin = deps.kafka.admin()
      await admin.connect()
      const metadata = await admin.fetchTopicMetadata({ topics: [deps.topics.predictions] }).finally(() => admin.disconnect())
      partitionCount = metadata.topics[0]?.partitions.length ?? 0
      watermark = new ModelWatermark(deps.ch, groupId, deps.topics.predictions, partitionCount)
      // Windows a previous run left open although their data had moved on are closed now.
      await pipeline.retryOpenWindows()
      await consumer.start()
      retryTimer = setInterval(() => retryRun.then(retryOpen), deps.openWindowRetryMs ?? 5_000)
      if (healthEvery > 0) scheduleLabelHealth(healthEvery)
    },
    async stop() {
      pipeline.close()
      if (healthTimer) clearTimeout(healthTimer)
      if (retryTimer) clearInterval(retryTimer)
      healthTimer = null
      retryTimer = null
      await retryRun
      await consumer.stop()
      await healthRun
      await finished.close()
    },
    healthcheck: () => consumer.healthy(),
  }
}
