import type { LabelEvent, PredictionEvent } from '../shared/events/types.ts'

// A production scenario for a credit-default classifier, in simulated time: daily seasonality,
// labels delayed from minutes to weeks, a growing new-user segment the model knows little about
// (cold start), a Black Friday spike, an upstream break (a feature goes null), then a genuine
// concept drift. Deterministic for a seed, so a run can be checked against what it should find.

export const SCENARIO_MODEL = 'credit-default'
export const HOUR = 3_600_000
export const DAY = 24 * HOUR

export interface ScenarioEvent {
  at: number
  prediction?: PredictionEvent
  label?: LabelEvent
}

export interface ScenarioPhase {
  name: 'baseline' | 'new_users' | 'black_friday' | 'upstream_break' | 'concept_drift'
  from: number
  to: number
  description: string
}

export interface ScenarioOptions {
  seed: number
  /** Simulated start (aligned to a day). */
  start: number
  /** Predictions per hour at the daily peak. */
  peakPerHour: number
  days: number
}

export interface Scenario {
  phases: ScenarioPhase[]
  /** Prediction and label events in Kafka-time order. */
  events: ScenarioEvent[]
  end: number
  /** The training baseline: first week's predictions and their labels. */
  baseline: { predictions: PredictionEvent[]; labels: LabelEvent[] }
}

function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Phases as day offsets, scaled to the scenario's length (default 42 days). */
export function scenarioPhases(start: number, days: number): ScenarioPhase[] {
  const d = (x: number): number => start + Math.round((x / 42) * days) * DAY
  return [
    { name: 'baseline', from: d(0), to: d(14), description: 'normal traffic with a daily cycle; the first week is the training baseline' },
    { name: 'new_users', from: d(14), to: d(42), description: 'new users (cold start) grow from 10% to 35% of traffic; the model does worse on them' },
    { name: 'black_friday', from: d(21), to: d(22), description: 'Black Friday: three times the volume, larger amounts, more online purchases' },
    { name: 'upstream_break', from: d(26), to: d(26) + 12 * HOUR, description: 'an upstream feed breaks: income arrives null for 12 hours' },
    { name: 'concept_drift', from: d(30), to: d(42), description: 'the relation between features and default changes: the same scores now mean more defaults' },
  ]
}

const within = (phases: ScenarioPhase[], name: ScenarioPhase['name'], t: number): boolean => phases.some((p) => p.name === name && t >= p.from && t < p.to)

export function generateScenario(o: ScenarioOptions): Scenario {
  const rand = prng(o.seed)
  const gauss = (): number => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand())
  const phases = scenarioPhases(o.start, o.days)
  const end = o.start + o.days * DAY
  const events: ScenarioEvent[] = []
  const baselineEnd = o.start + Math.max(1, Math.round(o.days / 6)) * DAY
  const baseline: Scenario['baseline'] = { predictions: [], labels: [] }
  const regions = ['north', 'south', 'east', 'west']
  const channels = ['branch', 'web', 'app']
  let n = 0
  for (let hour = o.start; hour < end; hour += HOUR) {
    const hourOfDay = new Date(hour).getUTCHours()
    // Daily cycle: quiet at night, peak in the afternoon.
    let rate = o.peakPerHour * (0.35 + 0.65 * Math.max(0, Math.sin(((hourOfDay - 6) / 24) * 2 * Math.PI)) ** 1.5)
    const blackFriday = within(phases, 'black_friday', hour)
    if (blackFriday) rate *= 3
    const count = Math.round(rate * (0.9 + 0.2 * rand()))
    const newUserShare = hour < phases[1]!.from ? 0.1 : 0.1 + 0.25 * Math.min(1, (hour - phases[1]!.from) / (phases[1]!.to - phases[1]!.from))
    for (let i = 0; i < count; i++) {
      const t = hour + Math.floor(rand() * HOUR)
      const newUser = rand() < newUserShare
      const income = Math.exp(10.6 + 0.45 * gauss())
      const debtRatio = Math.min(1.5, Math.max(0, 0.35 + 0.15 * gauss()))
      const amount = Math.exp((blackFriday ? 7.4 : 6.8) + 0.6 * gauss())
      const tenure = newUser ? 0 : Math.floor(rand() * 120)
      const latePayments = newUser ? 0 : Math.floor(-Math.log(Math.max(rand(), 1e-9)) * 0.6)
      const channel = blackFriday ? (rand() < 0.7 ? 'web' : channels[Math.floor(rand() * 3)]!) : channels[Math.floor(rand() * 3)]!
      const region = regions[Math.floor(rand() * 4)]!
      // What the model believes (fixed, trained on the baseline)...
      const z = -2.2 + 2.4 * (debtRatio - 0.35) + 0.45 * latePayments - 0.5 * Math.log(income / 40_000) + 0.15 * Math.log(amount / 900) - 0.004 * tenure
      const score = 1 / (1 + Math.exp(-z))
      // ...and what is true: new users default more than the model thinks (it has no history
      // for them); after the concept drift everybody's risk rises for the same features.
      let truthZ = z + (newUser ? 0.9 : 0)
      if (within(phases, 'concept_drift', t)) truthZ += 1.6 + 1.2 * (debtRatio - 0.35)
      const defaulted = rand() < 1 / (1 + Math.exp(-truthZ))
      const broken = within(phases, 'upstream_break', t)
      const id = `cd-${o.seed}-${n++}`
      const prediction: PredictionEvent = {
        prediction_id: id,
        model_id: SCENARIO_MODEL,
        model_version: '2026.10',
        event_time: t,
        numeric_features: {
          income: broken ? null : Math.round(income),
          debt_ratio: Math.round(debtRatio * 1000) / 1000,
          amount: Math.round(amount * 100) / 100,
          tenure_months: tenure,
          late_payments: latePayments,
        },
        categorical_features: { channel, region },
        prediction: { predicted_class: score >= 0.5 ? 'default' : 'repaid', scores: { default: score, repaid: 1 - score }, value: null },
        segments: { new_entity: newUser ? 'true' : 'false' },
      }
      const sentAt = t + Math.floor(rand() * 2_000)
      events.push({ at: sentAt, prediction })
      // Labels: most defaults are known within days, some after weeks; repayments are known
      // when the first instalment is paid (about a week), a few much later.
      if (rand() < 0.92) {
        const delay = Math.floor(Math.exp(Math.log(defaulted ? 2 * DAY : 7 * DAY) + 0.8 * gauss()))
        const label: LabelEvent = { prediction_id: id, model_id: SCENARIO_MODEL, label_time: t + Math.max(60_000, delay), label_class: defaulted ? 'default' : 'repaid', label_value: null }
        if (label.label_time < end) events.push({ at: label.label_time, label })
        if (t < baselineEnd) baseline.labels.push(label)
      }
      if (t < baselineEnd) baseline.predictions.push(prediction)
    }
  }
  events.sort((a, b) => a.at - b.at)
  return { phases, events, end, baseline }
}
