import { describe, expect, it } from 'vitest'
import { BLACK_FRIDAY, generateScenario, phaseAt, scenarioPhases, scenarioStart, SCENARIO_MODEL, type Scenario } from '../../../scenario/scenario.ts'
import type { LabelEvent, PredictionEvent } from '../../../services/shared/events/types.ts'

// The scenario generator against what docs/scenario.md promises, with the expected numbers worked out
// here: the phase dates by hand for 42 and 28 days, the daily profile and the label-delay
// distribution from their stated parameters.

const H = 3_600_000
const D = 24 * H
const utc = (iso: string): number => Date.parse(`${iso}Z`)

/** The stated daily cycle: 35% of the peak at night, the peak at 12:00 UTC. */
const dailyProfile = (hourOfDay: number): number => 0.35 + 0.65 * Math.max(0, Math.sin(((hourOfDay - 6) / 24) * 2 * Math.PI)) ** 1.5

interface Generated {
  s: Scenario
  predictions: PredictionEvent[]
  labels: LabelEvent[]
  byId: Map<string, PredictionEvent>
}

function generated(days: number, peakPerHour: number, seed = 1): Generated {
  const s = generateScenario({ seed, peakPerHour, days })
  const predictions = s.events.flatMap((e) => (e.prediction ? [e.prediction] : []))
  const labels = s.events.flatMap((e) => (e.label ? [e.label] : []))
  return { s, predictions, labels, byId: new Map(predictions.map((p) => [p.prediction_id, p])) }
}

// The default run (42 days, 300 predictions an hour at the peak) and the integration test's.
const full = generated(42, 300)
const short = generated(28, 160)

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const quantile = (sorted: number[], q: number): number => sorted[Math.floor(q * (sorted.length - 1))]!
const inRange = (t: number, from: number, to: number): boolean => t >= from && t < to

describe('scenario phases', () => {
  it('42 days: the layout of docs/scenario.md, from 2025-11-07, Black Friday on day 21', () => {
    expect(scenarioStart(42)).toBe(utc('2025-11-07T00:00'))
    expect(scenarioPhases(42).map((p) => [p.name, p.from, p.to])).toEqual([
      ['baseline', utc('2025-11-07T00:00'), utc('2025-11-21T00:00')],
      ['upstream_break', utc('2025-11-17T00:00'), utc('2025-11-17T12:00')],
      ['new_users', utc('2025-11-21T00:00'), utc('2025-12-19T00:00')],
      ['black_friday', utc('2025-11-28T00:00'), utc('2025-11-29T00:00')],
      ['concept_drift', utc('2025-12-07T00:00'), utc('2025-12-19T00:00')],
    ])
    expect(full.s.start).toBe(utc('2025-11-07T00:00'))
    expect(full.s.end).toBe(utc('2025-12-19T00:00'))
  })

  it('28 days: the phases scale to whole days (10/42 of 28 is day 7, 14/42 day 9, 30/42 day 20), Black Friday stays on 2025-11-28', () => {
    expect(scenarioPhases(28).map((p) => [p.name, p.from, p.to])).toEqual([
      ['baseline', utc('2025-11-14T00:00'), utc('2025-11-23T00:00')],
      ['upstream_break', utc('2025-11-21T00:00'), utc('2025-11-21T12:00')],
      ['new_users', utc('2025-11-23T00:00'), utc('2025-12-12T00:00')],
      ['black_friday', utc('2025-11-28T00:00'), utc('2025-11-29T00:00')],
      ['concept_drift', utc('2025-12-04T00:00'), utc('2025-12-12T00:00')],
    ])
  })

  it.each([28, 35, 42, 60, 90])('%i days: Black Friday is 2025-11-28, in the middle of the run, and apart from the concept drift', (days) => {
    const phases = scenarioPhases(days)
    const bf = phaseAt(phases, 'black_friday')
    expect([bf.from, bf.to]).toEqual([Date.UTC(2025, 10, 28), Date.UTC(2025, 10, 29)])
    expect(BLACK_FRIDAY).toBe(Date.UTC(2025, 10, 28))
    expect((bf.from - scenarioStart(days)) / D).toBe(Math.round(days / 2))
    expect(phaseAt(phases, 'concept_drift').from).toBeGreaterThan(bf.to)
    expect(phaseAt(phases, 'upstream_break').to).toBeLessThan(phaseAt(phases, 'new_users').from)
    expect(phaseAt(phases, 'new_users').to).toBe(scenarioStart(days) + days * D)
    for (const p of phases) expect(p.description.length).toBeGreaterThan(20)
  })
})

describe('scenario traffic', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const again = generateScenario({ seed: 1, peakPerHour: 160, days: 28 })
    expect(again.events.length).toBe(short.s.events.length)
    expect(again.events.slice(0, 500)).toEqual(short.s.events.slice(0, 500))
    expect(again.events.at(-1)).toEqual(short.s.events.at(-1))
    const other = generateScenario({ seed: 2, peakPerHour: 160, days: 28 })
    expect(other.events[0]).not.toEqual(short.s.events[0])
    // Ids carry the seed, so two runs with different seeds never share a prediction_id.
    expect(other.events.every((e) => (e.prediction ?? e.label)!.prediction_id.startsWith('cd-2-'))).toBe(true)
  })

  it('events are in Kafka-time order inside the run; predictions are stamped within 2 s of their event time, labels at their label time', () => {
    const { s } = full
    expect(s.events.every((e, i) => i === 0 || e.at >= s.events[i - 1]!.at)).toBe(true)
    const wrong = s.events.filter((e) =>
      e.prediction
        ? e.prediction.model_id !== SCENARIO_MODEL ||
          e.at < e.prediction.event_time ||
          e.at - e.prediction.event_time >= 2_000 ||
          !inRange(e.prediction.event_time, s.start, s.end)
        : e.at !== e.label!.label_time || e.label!.label_time >= s.end || e.label!.model_id !== SCENARIO_MODEL,
    )
    expect(wrong).toEqual([])
    expect(new Set(full.predictions.map((p) => p.prediction_id)).size).toBe(full.predictions.length)
  })

  it('about 4,000 predictions a day outside Black Friday, following the daily cycle hour by hour (night at 35% of the peak)', () => {
    const { s, predictions } = full
    const normal = predictions.filter((p) => !inRange(p.event_time, BLACK_FRIDAY, BLACK_FRIDAY + D))
    const normalDays = 41
    // The stated profile summed over a day: 300 * sum(profile) predictions.
    const expectedPerDay = 300 * Array.from({ length: 24 }, (_, h) => dailyProfile(h)).reduce((a, b) => a + b)
    expect(expectedPerDay).toBeGreaterThan(3_700)
    expect(expectedPerDay).toBeLessThan(4_100)
    expect(normal.length / normalDays / expectedPerDay).toBeCloseTo(1, 1)
    const perHour = new Array<number>(24).fill(0)
    for (const p of normal) perHour[new Date(p.event_time).getUTCHours()]!++
    for (let h = 0; h < 24; h++) {
      const observed = perHour[h]! / normalDays
      expect(Math.abs(observed / (300 * dailyProfile(h)) - 1), `hour ${h}`).toBeLessThan(0.05)
    }
    // Peak against night: 1 / 0.35.
    const night = [18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6].map((h) => perHour[h]!)
    expect(perHour[12]! / mean(night)).toBeGreaterThan((1 / 0.35) * 0.95)
    expect(perHour[12]! / mean(night)).toBeLessThan((1 / 0.35) * 1.05)
    expect(s.start % D).toBe(0)
  })

  it('Black Friday: three times the volume of an ordinary day, larger amounts, mostly on the web, on 2025-11-28 only', () => {
    const { predictions, s } = full
    const perDay = new Map<number, PredictionEvent[]>()
    for (const p of predictions) {
      const day = Math.floor((p.event_time - s.start) / D)
      const list = perDay.get(day) ?? []
      list.push(p)
      perDay.set(day, list)
    }
    const bfDay = (BLACK_FRIDAY - s.start) / D
    expect(bfDay).toBe(21)
    const others = [...perDay].filter(([d]) => d !== bfDay).map(([, ps]) => ps.length)
    const bf = perDay.get(bfDay)!
    expect(bf.length / mean(others)).toBeGreaterThan(2.8)
    expect(bf.length / mean(others)).toBeLessThan(3.2)
    // No other day comes near it.
    expect(Math.max(...others) / mean(others)).toBeLessThan(1.1)
    const medianAmount = (ps: PredictionEvent[]): number =>
      quantile(
        ps.map((p) => p.numeric_features.amount!).sort((a, b) => a - b),
        0.5,
      )
    const ordinary = perDay.get(bfDay - 7)!
    // Log-normal amounts: median e^7.4 on the day against e^6.8.
    expect(medianAmount(bf) / Math.exp(7.4)).toBeCloseTo(1, 1)
    expect(medianAmount(ordinary) / Math.exp(6.8)).toBeCloseTo(1, 1)
    const web = (ps: PredictionEvent[]): number => ps.filter((p) => p.categorical_features.channel === 'web').length / ps.length
    // 70% straight to the web, and a third of the rest.
    expect(web(bf)).toBeCloseTo(0.7 + 0.3 / 3, 1)
    expect(web(ordinary)).toBeCloseTo(1 / 3, 1)
  })

  it('the upstream break: income null and debt_ratio 0 for exactly the 12 hours of day 10, nowhere else', () => {
    const { predictions } = full
    const from = utc('2025-11-17T00:00')
    const to = from + 12 * H
    const inBreak = predictions.filter((p) => inRange(p.event_time, from, to))
    const outside = predictions.filter((p) => !inRange(p.event_time, from, to))
    expect(inBreak.length).toBeGreaterThan(1_000)
    expect(inBreak.every((p) => p.numeric_features.income === null && p.numeric_features.debt_ratio === 0)).toBe(true)
    expect(outside.every((p) => p.numeric_features.income !== null)).toBe(true)
    // debt_ratio is clamped at 0, so a few ordinary applicants have 0 too (N(0.35, 0.15) below 0: about 1%).
    expect(outside.filter((p) => p.numeric_features.debt_ratio === 0).length / outside.length).toBeLessThan(0.02)
    // The same break on day 7 of a 28-day run.
    const shortBreak = short.predictions.filter((p) => p.numeric_features.income === null).map((p) => p.event_time)
    expect(Math.min(...shortBreak)).toBeGreaterThanOrEqual(utc('2025-11-21T00:00'))
    expect(Math.max(...shortBreak)).toBeLessThan(utc('2025-11-21T12:00'))
  })

  it('labels: 95% of predictions get one, log-normal delays around 2.5 days (sigma 0.45), never under a minute, always after the prediction', () => {
    const { s, labels, byId, predictions } = full
    // Predictions old enough that their label cannot fall after the end of the run (a delay of
    // 10 days is 3 sigma out).
    const settled = new Set(predictions.filter((p) => p.event_time < s.end - 10 * D).map((p) => p.prediction_id))
    const delays = labels.filter((l) => settled.has(l.prediction_id)).map((l) => l.label_time - byId.get(l.prediction_id)!.event_time)
    expect(delays.length / settled.size).toBeGreaterThan(0.94)
    expect(delays.length / settled.size).toBeLessThan(0.96)
    const sorted = delays.sort((a, b) => a - b)
    const z25 = 0.6745
    expect(quantile(sorted, 0.5) / (2.5 * D)).toBeCloseTo(1, 1)
    expect(quantile(sorted, 0.25) / (2.5 * D * Math.exp(-0.45 * z25))).toBeCloseTo(1, 1)
    expect(quantile(sorted, 0.75) / (2.5 * D * Math.exp(0.45 * z25))).toBeCloseTo(1, 1)
    // 95% within 1.96 sigma: 1.04 to 6.0 days.
    const within = sorted.filter((d) => d >= 2.5 * D * Math.exp(-1.96 * 0.45) && d <= 2.5 * D * Math.exp(1.96 * 0.45)).length / sorted.length
    expect(within).toBeGreaterThan(0.94)
    expect(within).toBeLessThan(0.96)
    expect(sorted[0]).toBeGreaterThanOrEqual(60_000)
    expect(labels.filter((l) => !(l.label_time > byId.get(l.prediction_id)!.event_time) || !['default', 'repaid'].includes(l.label_class!))).toEqual([])
  })

  it('new users: none before the phase, then a share growing from 5% to 20%, with a tenure of weeks at most', () => {
    const { predictions } = full
    const phase = phaseAt(full.s.phases, 'new_users')
    const isNew = (p: PredictionEvent): boolean => p.segments.new_entity === 'true'
    expect(predictions.filter((p) => p.event_time < phase.from).some(isNew)).toBe(false)
    const weeks = (phase.to - phase.from) / (7 * D)
    for (let w = 0; w < weeks; w++) {
      const from = phase.from + w * 7 * D
      const week = predictions.filter((p) => inRange(p.event_time, from, from + 7 * D))
      // The share at the middle of the week on a straight line from 5% to 20%.
      const expected = 0.05 + 0.15 * ((w + 0.5) / weeks)
      expect(Math.abs(week.filter(isNew).length / week.length - expected), `week ${w}`).toBeLessThan(0.015)
    }
    expect(predictions.filter(isNew).every((p) => p.numeric_features.tenure_months! < 3)).toBe(true)
  })

  it('the model is calibrated on established applicants until the concept drift; new users, Black Friday and the drift default more than it thinks', () => {
    const { labels, byId } = full
    const [breakPhase, bf, drift] = [phaseAt(full.s.phases, 'upstream_break'), phaseAt(full.s.phases, 'black_friday'), phaseAt(full.s.phases, 'concept_drift')]
    const groups = new Map<string, { n: number; defaults: number; score: number }>()
    for (const l of labels) {
      const p = byId.get(l.prediction_id)!
      if (inRange(p.event_time, breakPhase.from, breakPhase.to)) continue
      const group = inRange(p.event_time, bf.from, bf.to)
        ? 'black_friday'
        : `${p.segments.new_entity === 'true' ? 'new' : 'established'}${p.event_time >= drift.from ? ' drift' : ''}`
      const g = groups.get(group) ?? { n: 0, defaults: 0, score: 0 }
      g.n++
      g.defaults += l.label_class === 'default' ? 1 : 0
      g.score += p.prediction.scores.default!
      groups.set(group, g)
    }
    const gap = (name: string): number => {
      const g = groups.get(name)!
      return g.defaults / g.n - g.score / g.n
    }
    expect(Math.abs(gap('established'))).toBeLessThan(0.01)
    expect(gap('established drift')).toBeGreaterThan(0.1)
    expect(gap('new')).toBeGreaterThan(0.08)
    expect(gap('black_friday')).toBeGreaterThan(0.05)
  })

  it('the training baseline is the first week (a sixth of the run) and all its labels', () => {
    for (const [{ s, predictions, labels }, days] of [
      [full, 7],
      [short, 5],
    ] as const) {
      const cut = s.start + days * D
      expect(s.baseline.predictions.length).toBe(predictions.filter((p) => p.event_time < cut).length)
      expect(s.baseline.predictions.every((p) => p.event_time < cut)).toBe(true)
      const ids = new Set(s.baseline.predictions.map((p) => p.prediction_id))
      expect(s.baseline.labels.every((l) => ids.has(l.prediction_id))).toBe(true)
      expect(s.baseline.labels.length).toBeGreaterThanOrEqual(labels.filter((l) => ids.has(l.prediction_id)).length)
      expect(s.baseline.labels.length / ids.size).toBeCloseTo(0.95, 1)
    }
  })
})
