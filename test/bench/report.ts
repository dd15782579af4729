import type { HostileResult } from './hostile.ts'
import type { LatencyResult } from './latency.ts'
import { SETTLE_MS, type MemoryResult } from './memory.ts'
import type { PipelineRun } from './pipeline-run.ts'
import type { ThroughputResult } from './throughput.ts'

export interface BenchResults {
  started_at: string
  machine: { cores: number; cpu: string; load_average_at_start: number[] }
  options: { quick: boolean; predictions: number; batchSize: number; lingerMs: number; partitions: number }
  throughput?: ThroughputResult
  hostile?: HostileResult
  memory?: MemoryResult
  latency?: LatencyResult
  scaling?: { two: PipelineRun }
  error?: string
  phase_seconds?: Record<string, number>
  total_seconds?: number
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US')
const s = (x: number): string => `${x.toFixed(1)} s`
const pct = (x: number): string => `${Math.round(x * 100)} %`
const cores = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(2))
/** CPU of the monitor processes and of ClickHouse per event of a pipeline run. */
const cpuPerEvent = (p: PipelineRun): string => {
  const micros = (c: number): number => Math.round(((c * p.seconds) / Math.max(1, p.records)) * 1e6)
  const clickhouse = p.host.clickhouse_cores === null ? 'n/a' : `${micros(p.host.clickhouse_cores)}`
  return `monitor ${micros(p.monitor_cores)} + ClickHouse ${clickhouse} µs`
}

function pipelineLine(p: PipelineRun): string {
  const notes = [
    p.finished ? '' : `, DID NOT FINISH: ${p.stalled ?? ''}`,
    p.host.server_restarted ? ', Kafka or ClickHouse restarted during the run' : '',
  ].join('')
  return `${n(p.events_per_s)} events/s (${n(p.records)} events in ${s(p.seconds)}${notes})`
}

/** The run as a markdown table (what docs/performance.md quotes). */
export function markdownReport(r: BenchResults): string {
  const rows: [string, string][] = []
  const o = r.options
  rows.push([
    'run',
    `${r.started_at.slice(0, 16).replace('T', ' ')} UTC, ${o.quick ? 'quick' : 'full'}, ${n(o.predictions)} predictions + ${n(o.predictions)} labels, ${o.partitions} partitions, batch ${n(o.batchSize)} / linger ${o.lingerMs} ms`,
  ])
  rows.push(['machine', `${r.machine.cores} cores (${r.machine.cpu}), load average at start ${r.machine.load_average_at_start.join(' ')}`])
  const t = r.throughput
  if (t) {
    const p = t.pipeline
    rows.push([
      'produce (bench producer)',
      `${n(t.produced.predictions.per_s)} predictions/s (${t.produced.predictions.avg_bytes} B avg), ${n(t.produced.labels.per_s)} labels/s`,
    ])
    rows.push([
      'Avro decode alone (EventCodec, in memory)',
      `${n(t.decode.predictions_per_s)} predictions/s, ${n(t.decode.labels_per_s)} labels/s (${n(t.decode.sample)} each); avsc without the shape checks ${n(t.decode.avro_only_predictions_per_s)} predictions/s`,
    ])
    rows.push([
      'raw consumption (batch consumer, no-op handler)',
      `${n(t.raw.events_per_s)} events/s (${n(t.raw.records)} in ${s(t.raw.seconds)}); CPU ${t.raw.cpu_us_per_event} µs per event`,
    ])
    const f = t.floor
    rows.push([
      'raw events stored, nothing else (consume, decode, check, insert)',
      `${n(f.events_per_s)} events/s; CPU per event: consumer ${f.consumer_us_per_event.toFixed(1)} + ClickHouse ${f.clickhouse_us_per_event?.toFixed(1) ?? 'n/a'} µs, and ${f.clickhouse_after_us_per_event.toFixed(1)} µs of merges after the last commit`,
    ])
    rows.push(['**monitor pipeline, 1 process**', `**${pipelineLine(p)}**, startup ${s(p.startup_s)} not counted`])
    rows.push(['**pipeline / raw consumption**', `**${t.ratio.toFixed(3)}** (aim >= 0.6)`])
    const steps = Object.entries(p.steps).map(([k, v]) => `${k} ${s(v.seconds)} (${pct(v.share)})`)
    rows.push([
      'time per step (driftgate_batch_seconds sums)',
      `${steps.join(', ')}; ${n(p.batches)} batches; outside the steps (fetch, linger, commit, timers) ${s(p.outside_steps_s)}`,
    ])
    rows.push([
      'CPU during the pipeline run (cores)',
      `monitor ${cores(p.monitor_cores)}, ClickHouse ${cores(p.host.clickhouse_cores)}, Kafka ${cores(p.host.kafka_cores)}; machine busy ${pct(p.host.machine_busy_share)}; per event ${cpuPerEvent(p)} (and ClickHouse ${t.pipeline_clickhouse_after_us_per_event.toFixed(1)} µs after the last commit); longest event-loop block in the monitor ${s(Math.max(0, ...p.eventloop_lag_max_s))}`,
    ])
    const q = p.query_cpu
    if (q) {
      const clickhouse = (p.host.clickhouse_cores ?? 0) * p.host.wall_s
      const kinds = q.kinds.map((k) => `${k.kind} ${k.cpu_s.toFixed(1)} s (${n(k.queries)})`)
      rows.push([
        'ClickHouse CPU by query over that run (query log; queries in brackets)',
        `${kinds.join(', ')}; outside queries (merges, connections) ${Math.max(0, clickhouse - q.queries_cpu_s).toFixed(1)} s; ClickHouse in all ${clickhouse.toFixed(1)} s`,
      ])
      if (q.merges)
        rows.push([
          'merges over that run (part log; wall time, merges in brackets)',
          q.merges.map((m) => `${m.table} ${m.seconds.toFixed(1)} s (${n(m.merges)}; ${n(m.rows)} rows)`).join(', ') || 'none',
        ])
    }
    rows.push([
      'labels joined',
      `memory ${n(p.labels_joined.memory)}, ClickHouse lookup ${n(p.labels_joined.clickhouse)}, early (before their prediction) ${n(p.labels_joined.early)}; ${n(p.windows_recomputed)} window recomputations, ${n(p.window_rereads)} reads again`,
    ])
    rows.push([
      'check: stored / 1h windows',
      `${n(p.checks.predictions_stored)} predictions, volume ${n(p.checks.volume_1h)}, labeled ${n(p.checks.labeled_1h)} over ${n(p.checks.windows_1h)} windows`,
    ])
  }
  const h = r.hostile
  if (h) {
    const hostile = h.hostile.predictions + h.hostile.labels
    rows.push([
      '**pipeline with 1 % hostile records**',
      `**${pipelineLine(h.pipeline)}**${h.ratio_to_clean === null ? '' : ` = **${h.ratio_to_clean.toFixed(3)}** x the clean run (aim >= 0.9)`}`,
    ])
    rows.push([
      'check: hostile records',
      `${n(hostile)} produced (${h.hostile.kinds.length} kinds), ${n(h.dead_letters)} dead letters; ${n(h.pipeline.checks.predictions_stored)} predictions stored, labeled ${n(h.pipeline.checks.labeled_1h)}`,
    ])
  }
  const m = r.memory
  if (m) {
    rows.push([
      'memory: RSS holding pending predictions',
      `${m.rss_before_mb} MB -> ${m.rss_after_mb} MB with ${n(m.index_entries)} of ${n(m.predictions)} in the index${m.finished ? '' : ' (DID NOT FINISH)'}`,
    ])
    rows.push([
      'memory per pending prediction',
      `${n(m.rss_bytes_per_prediction_settled)} B RSS after ${SETTLE_MS / 1000} s idle (${n(m.rss_bytes_per_prediction)} B right after reading them), ${n(m.heap_bytes_per_prediction)} B heap, ${n(m.external_bytes_per_prediction)} B outside the heap`,
    ])
  }
  const l = r.latency
  if (l) {
    const lm = l.label_to_metric
    if (lm)
      rows.push([
        'latency label -> window metric',
        `p50 ${lm.p50_ms} ms, p90 ${lm.p90_ms} ms, p99 ${lm.p99_ms} ms, max ${lm.max_ms} ms (${lm.count} labels in groups of ${lm.group}, ${lm.timeouts} timeouts)`,
      ])
    const ct = l.close_to_trigger
    rows.push([
      'latency window close -> trigger',
      'not_measured' in ct
        ? `not measured: ${ct.not_measured}`
        : `p50 ${ct.p50_ms} ms, p99 ${ct.p99_ms} ms, max ${ct.max_ms} ms (${ct.count} of ${ct.windows} windows, ${ct.timeouts} timeouts)`,
    ])
  }
  if (r.scaling && t) {
    const two = r.scaling.two
    rows.push([
      '**two monitor processes, one group**',
      `**${pipelineLine(two)}** = ${(two.events_per_s / t.pipeline.events_per_s).toFixed(2)} x one process; monitors ${cores(two.monitor_cores)} cores, ClickHouse ${cores(two.host.clickhouse_cores)}; per event ${cpuPerEvent(two)} (one process ${cpuPerEvent(t.pipeline)}); ${n(two.windows_recomputed)} window computations in ${n(two.rounds)} rounds (${two.windows_recomputed_by_process.map(n).join(' + ')}; ${n(two.windows_covered_elsewhere)} left to the other process), ${n(two.window_rereads)} read again (one process ${n(t.pipeline.windows_recomputed)} in ${n(t.pipeline.rounds)} rounds, ${n(t.pipeline.window_rereads)})`,
    ])
  }
  if (r.phase_seconds)
    rows.push([
      'bench wall time',
      `${Object.entries(r.phase_seconds)
        .map(([k, v]) => `${k} ${s(v)}`)
        .join(', ')}; total ${s(r.total_seconds ?? 0)}`,
    ])
  if (r.error) rows.push(['error', r.error.split('\n')[0]!])
  return ['| measure | result |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n')
}
