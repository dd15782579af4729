import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The monitor's Prometheus metrics, registered on a registry passed in (no global state). */
export function createMonitorMetrics(registry: Registry) {
  return {
    records: new Counter({
      name: 'driftgate_records_total',
      help: 'Records consumed, by topic and outcome (stored, dead_letter).',
      labelNames: ['topic', 'outcome'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'driftgate_dead_letters_total',
      help: 'Records sent to the dead-letter topic, by reason code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    deadLettersUnsent: new Counter({
      name: 'driftgate_dead_letters_unsent_total',
      help: 'Rejected records the dead-letter topic refused (logged with their origin, offsets committed), by reason code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    labelsJoined: new Counter({
      name: 'driftgate_labels_joined_total',
      help: 'Labels whose prediction was found, by where (memory, clickhouse).',
      labelNames: ['source'],
      registers: [registry],
    }),
    labelsEarly: new Counter({
      name: 'driftgate_labels_early_total',
      help: 'Labels whose prediction was not found when they arrived: not stored yet (joined when it arrives, orphaned after the wait) or, looked up in ClickHouse, older than the label horizon (never counted).',
      registers: [registry],
    }),
    labelLag: new Histogram({
      name: 'driftgate_label_delay_seconds',
      help: 'Label time minus prediction time, for joined labels.',
      buckets: [60, 600, 3600, 21600, 86400, 604800, 2592000, 31536000],
      registers: [registry],
    }),
    indexSize: new Gauge({ name: 'driftgate_prediction_index_entries', help: 'Predictions held in the in-memory join index.', registers: [registry] }),
    windowsRecomputed: new Counter({ name: 'driftgate_windows_recomputed_total', help: 'Window recomputations.', registers: [registry] }),
    windowsCoveredElsewhere: new Counter({
      name: 'driftgate_windows_covered_elsewhere_total',
      help: "Windows this instance marked and left to the instance that owns their model, whose computation covered this instance's records.",
      registers: [registry],
    }),
    windowRereads: new Counter({
      name: 'driftgate_window_rereads_total',
      help: 'Window computations read again because rows were stored while their numbers were read (another instance, or a redelivery).',
      registers: [registry],
    }),
    windowsPending: new Gauge({
      name: 'driftgate_windows_pending',
      help: 'Windows marked and waiting to be recomputed (their batches wait to commit).',
      registers: [registry],
    }),
    windowsHeldOpen: new Gauge({
      name: 'driftgate_windows_held_open',
      help: 'Windows that could close but for a predictions partition not read far enough yet.',
      registers: [registry],
    }),
    windowsIdleClosed: new Counter({
      name: 'driftgate_windows_idle_closed_total',
      help: 'Windows closed by processing time: no newer prediction of their model for MONITOR_IDLE_CLOSE_MS.',
      labelNames: ['model_id'],
      registers: [registry],
    }),
    categoryOverflow: new Gauge({
      name: 'driftgate_category_overflow_values',
      help: 'Distinct values of a categorical feature past max_category_values in the latest window computed (all segments), counted under __other__.',
      labelNames: ['model_id', 'feature'],
      registers: [registry],
    }),
    segmentOverflow: new Gauge({
      name: 'driftgate_segment_overflow_events',
      help: 'Predictions of the latest window computed whose segment value was past max_segment_values (the segment attribute=__other__).',
      labelNames: ['model_id', 'attribute'],
      registers: [registry],
    }),
    roundFailures: new Counter({
      name: 'driftgate_window_round_failures_total',
      help: 'Window recomputation rounds that failed (retried until they succeed; commits wait meanwhile).',
      registers: [registry],
    }),
    windowFailures: new Counter({
      name: 'driftgate_window_failures_total',
      help: 'Window computations that failed for a reason of the model (not ClickHouse being unavailable): the monitor moves on and retries them with backoff.',
      labelNames: ['model_id'],
      registers: [registry],
    }),
    windowsFailing: new Gauge({
      name: 'driftgate_windows_failing',
      help: 'Windows whose latest computation failed for a reason of the model (table window_failures).',
      labelNames: ['model_id'],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'driftgate_batch_seconds',
      help: 'Time to handle one consumed batch, by step.',
      labelNames: ['step'],
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  }
}

export type MonitorMetrics = ReturnType<typeof createMonitorMetrics>
