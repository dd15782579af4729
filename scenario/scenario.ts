import type { LabelEvent, PredictionEvent } from '../services/shared/events/types.ts'

// A production scenario for a credit-default classifier, in simulated time: a daily cycle, labels
// that come back days after the prediction, and five phases, each a situation the policy must
// answer differently:
//
//   baseline        normal traffic; its first week is the training baseline (reference profile)
//   upstream_break  the income feed breaks for 12 hours: income arrives null and debt_ratio,
//                   which the feature pipeline derives from it, falls back to 0 (investigate)
//   new_users       the lender opens to applicants it has no history with (cold start); they grow
//                   to a fifth of the traffic and default more than the model thinks (hold,
//                   segment hint)
//   black_friday    three times the volume, larger online purchases that default more often (hold,
//                   known event)
//   concept_drift   the same applicants now default more often: a real change of the world, seen
//                   only through labels (one retrain)
//
// Deterministic for a seed, so a run can be checked against what it should find. The phases are
// laid out on 42 days and scaled with `days`; the start is chosen so that the Black Friday phase
// falls on Black Friday 2025, the date the policy calendar in config/driftgate.yaml names.

export const SCENARIO_MODEL = 'credit-default'
export const MODEL_VERSION = '2026.10'
export const HOUR = 3_600_000
export const DAY = 24 * HOUR
export const BLACK_FRIDAY = Date.UTC(2025, 10, 28)

export type PhaseName = 'baseline' | 'upstream_break' | 'new_users' | 'black_friday' | 'concept_drift'

export interface ScenarioPhase {
  name: PhaseName
  from: number
  to: number
  description: string
}

export interface ScenarioOptions {
  seed: number
  /** Predictions per hour at the daily peak. */
  peakPerHour: number
  days: number
}

export interface ScenarioEvent {
  at: number
  prediction?: PredictionEvent
  label?: LabelEvent
}

export interface Scenario {
  start: number
  end: number
  phases: ScenarioPhase[]
  /** Prediction and label events in Kafka-time order. */
  events: ScenarioEvent[]
  /** The training baseline: the first week's predictions and all their labels. */
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

/** Day offset x of the 42-day layout, scaled to `days` whole days. */
const dayOffset = (x: number, days: number): number => Math.round((x / 42) * days) * DAY

/** First simulated day: Black Friday minus its offset in the layout. */
export function scenarioStart(days: number): number {
  return BLACK_FRIDAY - dayOffset(21, days)
}

export function scenarioPhases(days: number): ScenarioPhase[] {
  const start = scenarioStart(days)
  const d = (x: number): number => start + dayOffset(x, days)
  return [
    { name: 'baseline', from: d(0), to: d(14), description: 'normal traffic with a daily cycle; the first week is the training baseline' },
    {
      name: 'upstream_break',
      from: d(10),
      to: d(10) + 12 * HOUR,
      description: 'the income feed breaks for 12 hours: income null, debt_ratio (derived from it) falls back to 0',
    },
    {
      name: 'new_users',
      from: d(14),
      to: d(42),
      description: 'applicants new to the lender (cold start) grow from 5% to 20% of traffic and default more than the model thinks',
    },
    {
      name: 'black_friday',
      from: BLACK_FRIDAY,
      to: BLACK_FRIDAY + DAY,
      description: 'Black Friday: three times the volume, larger online purchases that default more often',
    },
    {
      name: 'concept_drift',
      from: d(30),
      to: d(42),
      description: 'the same applicants now default more often (a changed economy): visible only through labels',
    },
  ]
}

export function phaseAt(phases: ScenarioPhase[], name: PhaseName): ScenarioPhase {
  return phases.find((p) => p.name === name)!
}

const within = (p: ScenarioPhase, t: number): boolean => t >= p.from && t < p.to

/** What the model believes: fixed, fitted on the baseline. Null income is imputed with the training median. */
export function modelLogit(f: { income: number | null; debtRatio: number; amount: number; tenure: number; latePayments: number }): number {
  const income = f.income ?? 40_000
  return -2.2 + 2.4 * (f.debtRatio - 0.35) + 0.45 * f.latePayments - 0.5 * Math.log(income / 40_000) + 0.15 * Math.log(f.amount / 900) - 0.004 * f.tenure
}

export function generateScenario(o: ScenarioOptions): Scenario {
  const rand = prng(o.seed)
  const gauss = (): number => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand())
  const phases = scenarioPhases(o.days)
  const [, broken, newUsers, blackFriday, conceptDrift] = phases as [ScenarioPhase, ScenarioPhase, ScenarioPhase, ScenarioPhase, ScenarioPhase]
  const start = scenarioStart(o.days)
  const end = start + o.days * DAY
  const baselineEnd = start + Math.max(1, Math.round(o.days / 6)) * DAY
  const events: ScenarioEvent[] = []
  const baseline: Scenario['baseline'] = { predictions: [], labels: [] }
  const regions = ['north', 'south', 'east', 'west']
  const channels = ['branch', 'web', 'app']
  let n = 0
  for (let hour = start; hour < end; hour += HOUR) {
    const hourOfDay = new Date(hour).getUTCHours()
    // Daily cycle: quiet at night, peak in the afternoon.
    let rate = o.peakPerHour * (0.35 + 0.65 * Math.max(0, Math.sin(((hourOfDay - 6) / 24) * 2 * Math.PI)) ** 1.5)
    const bf = within(blackFriday, hour)
    if (bf) rate *= 3
    const count = Math.round(rate * (0.9 + 0.2 * rand()))
    const newShare = hour < newUsers.from ? 0 : 0.05 + 0.15 * Math.min(1, (hour - newUsers.from) / (newUsers.to - newUsers.from))
    for (let i = 0; i < count; i++) {
      const t = hour + Math.floor(rand() * HOUR)
      const isNew = rand() < newShare
      const income = Math.exp((isNew ? 10.4 : 10.6) + 0.45 * gauss())
      const debtRatio = Math.min(1.5, Math.max(0, 0.35 + 0.15 * gauss()))
      const amount = Math.exp((bf ? 7.4 : 6.8) + 0.6 * gauss())
      // New applicants have no history with the lender (tenure of a few weeks at most); their
      // late payments elsewhere come from the credit bureau like everybody's.
      const tenure = isNew ? Math.floor(rand() * 3) : Math.floor(rand() * 120)
      const latePayments = Math.floor(-Math.log(Math.max(rand(), 1e-9)) * 0.6)
      const channel = bf ? (rand() < 0.7 ? 'web' : channels[Math.floor(rand() * 3)]!) : channels[Math.floor(rand() * 3)]!
      const region = regions[Math.floor(rand() * 4)]!
      const feedBroken = within(broken, t)
      // What the model saw: during the break income is missing and debt_ratio falls back to 0.
      const seen = {
        income: feedBroken ? null : Math.round(income),
        debtRatio: feedBroken ? 0 : Math.round(debtRatio * 1000) / 1000,
        amount: Math.round(amount * 100) / 100,
        tenure,
        latePayments,
      }
      const score = 1 / (1 + Math.exp(-modelLogit(seen)))
      // What is true: new applicants and Black Friday impulse purchases default more than the
      // model thinks; after the concept drift everybody does, most of all the indebted.
      let truth = modelLogit({ income, debtRatio, amount, tenure, latePayments })
      if (isNew) truth += 1.0
      if (bf) truth += 0.9
      if (within(conceptDrift, t)) truth += 1.2 + 1.5 * (debtRatio - 0.35)
      const defaulted = rand() < 1 / (1 + Math.exp(-truth))
      const id = `cd-${o.seed}-${n++}`
      const prediction: PredictionEvent = {
        prediction_id: id,
        model_id: SCENARIO_MODEL,
        model_version: MODEL_VERSION,
        event_time: t,
        numeric_features: { income: seen.income, debt_ratio: seen.debtRatio, amount: seen.amount, tenure_months: tenure, late_payments: latePayments },
        categorical_features: { channel, region },
        prediction: { predicted_class: score >= 0.5 ? 'default' : 'repaid', scores: { default: score, repaid: 1 - score }, value: null },
        segments: { new_entity: isNew ? 'true' : 'false' },
      }
      events.push({ at: t + Math.floor(rand() * 2_000), prediction })
      // The label is whether the first instalment was paid: known when it falls due, two to
      // three days later (whatever the outcome, so early labels are not biased towards
      // defaults); 5% are never reported.
      if (rand() < 0.95) {
        const delay = Math.max(60_000, Math.floor(2.5 * DAY * Math.exp(0.45 * gauss())))
        const label: LabelEvent = {
          prediction_id: id,
          model_id: SCENARIO_MODEL,
          label_time: t + delay,
          label_class: defaulted ? 'default' : 'repaid',
          label_value: null,
        }
        if (label.label_time < end) events.push({ at: label.label_time, label })
        if (t < baselineEnd) baseline.labels.push(label)
      }
      if (t < baselineEnd) baseline.predictions.push(prediction)
    }
  }
  events.sort((a, b) => a.at - b.at)
  return { start, end, phases, events, baseline }
}
