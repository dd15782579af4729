import { pino, type Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { MonitorTrigger } from '../../../services/shared/events/types.ts'

const HOUR = 3_600_000
/** 2024-03-04T10:00:00Z */
export const T0 = Date.UTC(2024, 2, 4, 10)

export function trigger(overrides: Partial<MonitorTrigger> = {}): MonitorTrigger {
  return {
    alert_id: 'a-1',
    model_id: 'credit-default',
    model_version: 'v7',
    segment: 'all',
    kind: 'drift',
    subject: 'income',
    severity: 'warning',
    status: 'firing',
    window_size_ms: HOUR,
    window_start: T0,
    window_end: T0 + HOUR,
    observed: 0.31234567,
    expected: 0,
    threshold: 0.2,
    evidence: [{ name: 'income', score: 0.31234567, detail: 'PSI vs reference' }],
    label_coverage: null,
    estimated: false,
    first_seen: T0,
    last_seen: T0 + HOUR,
    summary: 'credit-default v7: income drifted (PSI 0.31 > 0.2)',
    evidence_query: "SELECT * FROM driftgate.window_feature_stats FINAL WHERE model_id = 'credit-default' AND feature = 'income'",
    data_time: T0 + 2 * HOUR,
    ...overrides,
  }
}

export interface CapturedLogger {
  logger: Logger
  lines: Record<string, unknown>[]
  events(name: string): Record<string, unknown>[]
}

/** A pino logger whose JSON lines are kept in memory. */
export function captureLogger(): CapturedLogger {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  return { logger, lines, events: (name) => lines.filter((l) => l.event === name) }
}

/** Value of a counter or gauge for the given labels (0 when never set). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (!metric) throw new Error(`no metric ${name}`)
  const { values } = await metric.get()
  const found = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
  return found?.value ?? 0
}
