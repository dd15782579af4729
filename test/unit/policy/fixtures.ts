import type { MonitorTrigger } from '../../../services/shared/events/types.ts'
import type { DecisionContext, WindowFacts } from '../../../services/policy/core/decision-context.ts'
import { parsePolicyConfig, type PolicyConfig } from '../../../services/policy/core/policy-config.ts'

// Plain-data scenarios for the policy gates. One hour windows; the change happens at CP.

export const H = 3_600_000
export const DAY = 24 * H
export const MODEL = 'credit-default'
/** 2026-11-10T00:00Z + 1 day: the change point of every scenario. */
export const CP = Date.UTC(2026, 10, 11)

export function trigger(overrides: Partial<MonitorTrigger> = {}): MonitorTrigger {
  const first = overrides.first_seen ?? CP
  const last = overrides.last_seen ?? first + 3 * H
  return {
    alert_id: 'a-perf',
    model_id: MODEL,
    model_version: 'v1',
    segment: 'all',
    kind: 'performance',
    subject: 'accuracy',
    severity: 'warning',
    status: 'firing',
    window_size_ms: H,
    window_start: last,
    window_end: last + H,
    observed: 0.8,
    expected: 0.9,
    threshold: 0.85,
    evidence: [],
    label_coverage: 0.6,
    estimated: false,
    first_seen: first,
    last_seen: last,
    summary: 'accuracy dropped',
    evidence_query: `SELECT accuracy FROM window_summary WHERE model_id = '${MODEL}'`,
    data_time: last + H,
    ...overrides,
  }
}

export function window(start: number, overrides: Partial<WindowFacts> = {}): WindowFacts {
  const volume = overrides.volume ?? 1000
  const coverage = overrides.label_coverage ?? 0.8
  const labeled = overrides.labeled_count ?? Math.round(volume * coverage)
  return {
    segment: 'all',
    window_start: start,
    window_end: start + H,
    volume,
    labeled_count: labeled,
    label_coverage: volume > 0 ? labeled / volume : 0,
    label_delay_p50_ms: 2 * H,
    label_delay_p90_ms: 5 * H,
    metrics: { accuracy: 0.9 },
    estimated_accuracy: 0.9,
    business_value: labeled * 1.0,
    ...overrides,
  }
}

/** Coverage of the windows after the change point (labels still coming for the latest ones). */
export const COVERAGE_AFTER = [0.6, 0.6, 0.5, 0.4, 0.1, 0]

/** 48 healthy reference windows, then 6 windows of a model that lost accuracy and value. */
export function degradedWindows(segment = 'all'): WindowFacts[] {
  const windows: WindowFacts[] = []
  for (let t = CP - 48 * H; t < CP; t += H) windows.push(window(t, { segment }))
  COVERAGE_AFTER.forEach((coverage, i) => {
    const labeled = Math.round(1000 * coverage)
    windows.push(
      window(CP + i * H, {
        segment,
        label_coverage: coverage,
        labeled_count: labeled,
        metrics: { accuracy: 0.8 },
        estimated_accuracy: 0.85,
        business_value: labeled * 0.7,
      }),
    )
  })
  return windows
}

export function policy(raw: Record<string, unknown> = {}): PolicyConfig {
  return parsePolicyConfig({ cost: { compute: 100, storage: 10, evaluation: 40 }, reference_period: '24h', ...raw })
}

/** The baseline: a sustained, labeled accuracy drop, nothing else going on. */
export function context(overrides: Partial<DecisionContext> = {}, alerts: MonitorTrigger[] = [trigger()]): DecisionContext {
  const episodeAlerts = overrides.episode?.alerts ?? alerts
  return {
    as_of: CP + 6 * H,
    window_size_ms: H,
    concurrent_alerts: [],
    windows: degradedWindows(),
    label_rate_per_hour: 300,
    deploys: [{ model_version: 'v1', first_seen: CP - 30 * DAY }],
    queries: { windows: 'SELECT * FROM window_summary', concurrent_alerts: 'SELECT * FROM alerts', deploys: 'SELECT deploys', label_rate: 'SELECT rate' },
    history: { retrains: [], approvals: [] },
    ...overrides,
    episode: {
      episode_id: 'ep-1',
      model_id: MODEL,
      model_version: 'v1',
      change_point: Math.min(...episodeAlerts.map((a) => a.first_seen)),
      alerts: episodeAlerts,
      trigger: episodeAlerts.at(-1)!,
      ...overrides.episode,
    },
  }
}
