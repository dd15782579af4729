import { CommanderError } from 'commander'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { alertLine, SimulatedClock, Terminal } from '../../../scenario/live-feed.ts'
import { mainCommand, type MainOptions } from '../../../scenario/options.ts'
import { playScenario } from '../../../scenario/scenario-player.ts'
import type { ScenarioEvent } from '../../../scenario/scenario.ts'
import type { LabelEvent, PredictionEvent } from '../../../services/shared/events/types.ts'
import type { EventProducer } from '../../../services/shared/producer/event-producer.ts'
import { trigger } from '../policy/fixtures.ts'

// The main job's command line, its player (what is sent when, in which order) and the pieces of
// its live output, without Kafka.

const H = 3_600_000
const T0 = Date.UTC(2025, 10, 7)

afterEach(() => vi.restoreAllMocks())

function parse(args: string[]): MainOptions {
  return mainCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .parse(args, { from: 'user' })
    .opts<MainOptions>()
}

describe('npm start options', () => {
  it('defaults: 42 days, full speed, 300 predictions an hour at the peak, seed 1, the committed config', () => {
    expect(parse([])).toEqual({ days: 42, speed: 0, peakPerHour: 300, seed: 1, config: 'config/driftgate.yaml', out: '.local/scenario' })
  })

  it('reads every option', () => {
    expect(
      parse(['--days', '28', '--speed', '2.5', '--peak-per-hour', '160', '--seed', '7', '--keep', '--quiet', '--config', 'my.yaml', '--out', '/tmp/x']),
    ).toEqual({
      days: 28,
      speed: 2.5,
      peakPerHour: 160,
      seed: 7,
      keep: true,
      quiet: true,
      config: 'my.yaml',
      out: '/tmp/x',
    })
  })

  it.each([
    [['--days', '27'], '--days must be a number >= 28'],
    [['--days', 'many'], '--days must be a number >= 28'],
    [['--speed', '-1'], '--speed must be a number >= 0'],
    [['--peak-per-hour', '49'], '--peak-per-hour must be a number >= 50'],
    [['--seed', '-2'], '--seed must be a number >= 0'],
    [['--fast'], "unknown option '--fast'"],
  ])('refuses %j: %s', (args, message) => {
    let error: unknown
    try {
      parse(args)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CommanderError)
    expect((error as Error).message).toContain(message)
  })
})

const prediction = (id: string, at: number): ScenarioEvent => ({ at, prediction: { prediction_id: id, event_time: at - 500 } as PredictionEvent })
const label = (id: string, at: number): ScenarioEvent => ({ at, label: { prediction_id: id, label_time: at } as LabelEvent })

function recordingProducer(log: string[]): EventProducer {
  return {
    sendPredictions: async (events, o) =>
      void log.push(`predictions ${events.map((e) => e.prediction_id).join(',')} at ${o?.timestamps?.map((t) => (t - T0) / 1000).join(',')}`),
    sendLabels: async (events, o) =>
      void log.push(`labels ${events.map((e) => e.prediction_id).join(',')} at ${o?.timestamps?.map((t) => (t - T0) / 1000).join(',')}`),
    close: async () => undefined,
  }
}

describe('scenario player', () => {
  // Three simulated hours: hour 0 has two predictions; hour 1 a label (of p1) before a
  // prediction in Kafka time; nothing in hour 2; hour 3 a label.
  const events = [
    prediction('p1', T0 + 10_000),
    prediction('p2', T0 + 20_000),
    label('p1', T0 + H + 5_000),
    prediction('p3', T0 + H + 6_000),
    label('p2', T0 + 3 * H + 1),
  ]

  it('sends hour by hour, predictions of the hour before its labels, each stamped with its simulated time; waits for the caller before each hour', async () => {
    const log: string[] = []
    const produced = await playScenario(events, recordingProducer(log), {
      hoursPerSecond: 0,
      beforeHour: async (hour) => void log.push(`before ${(hour - T0) / H}`),
      onHour: (hour, p) => void log.push(`hour ${(hour - T0) / H} done: ${p.predictions} predictions, ${p.labels} labels`),
    })
    expect(produced).toEqual({ predictions: 3, labels: 2 })
    expect(log).toEqual([
      'before 0',
      'predictions p1,p2 at 10,20',
      'hour 0 done: 2 predictions, 0 labels',
      'before 1',
      'predictions p3 at 3606',
      'labels p1 at 3605',
      'hour 1 done: 3 predictions, 1 labels',
      'before 3',
      'labels p2 at 10800.001',
      'hour 3 done: 3 predictions, 2 labels',
    ])
  })

  it('stops between hours once aborted', async () => {
    const log: string[] = []
    const abort = new AbortController()
    const produced = await playScenario(events, recordingProducer(log), { hoursPerSecond: 0, signal: abort.signal, onHour: () => abort.abort() })
    expect(produced).toEqual({ predictions: 2, labels: 0 })
    expect(log).toEqual(['predictions p1,p2 at 10,20'])
  })

  it('at a set speed an hour is never sent before its time: 4 simulated hours at 40 an hour per second take at least 100 ms', async () => {
    const started = Date.now()
    await playScenario(events, recordingProducer([]), { hoursPerSecond: 40 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(95)
  })
})

describe('live output', () => {
  it('an alert line gives the simulated time, kind/subject, segment, severity, observed vs expected, coverage, evidence and windows', () => {
    const fired = trigger({
      kind: 'data_quality',
      subject: 'null_rate',
      segment: 'all',
      severity: 'critical',
      observed: 1,
      expected: 0,
      label_coverage: null,
      evidence: [{ name: 'income', score: 1, detail: '' }],
      window_size_ms: 6 * H,
      first_seen: Date.UTC(2025, 10, 17),
      last_seen: Date.UTC(2025, 10, 17, 6),
    })
    expect(alertLine(fired, Date.UTC(2025, 10, 18, 6))).toBe(
      '  2025-11-18 06:00  ALERT     data_quality/null_rate         [all]               critical 1 vs 0 (income)  windows 2025-11-17 00:00 .. 2025-11-17 12:00',
    )
    const perf = { ...fired, kind: 'performance' as const, subject: 'accuracy', observed: 0.75812, expected: 0.905, label_coverage: 0.743, evidence: [] }
    expect(alertLine(perf, Date.UTC(2025, 11, 2))).toContain('critical 0.758 vs 0.905, label coverage 74%  windows')
    expect(alertLine({ ...fired, status: 'resolved' }, Date.UTC(2025, 10, 19))).toBe(
      '  2025-11-19 00:00  RESOLVED  data_quality/null_rate         [all]               windows 2025-11-17 00:00 .. 2025-11-17 12:00',
    )
  })

  it('the simulated clock tells the simulated time at a wall-clock time from the marks the player left', () => {
    let wall = 1_000
    vi.spyOn(Date, 'now').mockImplementation(() => wall)
    const clock = new SimulatedClock(T0)
    expect(clock.at(5_000)).toBe(T0)
    clock.advance(T0 + H)
    wall = 2_000
    clock.advance(T0 + 2 * H)
    wall = 3_000
    clock.advance(T0 + 3 * H)
    expect(clock.now).toBe(T0 + 3 * H)
    expect([clock.at(500), clock.at(1_000), clock.at(1_999), clock.at(2_000), clock.at(2_500), clock.at(10_000)]).toEqual([
      T0 + H,
      T0 + H,
      T0 + H,
      T0 + 2 * H,
      T0 + 2 * H,
      T0 + 3 * H,
    ])
  })

  it('the terminal redraws the status line under new lines on a TTY, prints it now and then otherwise, and nothing when quiet', () => {
    const sink = (isTTY: boolean) => {
      const out: string[] = []
      return { out, stream: { isTTY, write: (s: string) => void out.push(s) } as unknown as NodeJS.WritableStream & { isTTY?: boolean } }
    }
    const tty = sink(true)
    const t = new Terminal(tty.stream)
    t.status('sim 1')
    t.line('ALERT x')
    t.done()
    expect(tty.out).toEqual(['\r\x1b[2Ksim 1', '\r\x1b[2KALERT x\nsim 1', '\n'])

    let wall = 100_000
    vi.spyOn(Date, 'now').mockImplementation(() => wall)
    const plain = sink(false)
    const p = new Terminal(plain.stream)
    p.status('sim 1')
    wall += 5_000
    p.status('sim 2')
    wall += 15_000
    p.status('sim 3')
    p.line('ALERT y')
    expect(plain.out).toEqual(['sim 1\n', 'sim 3\n', 'ALERT y\n'])

    const quiet = sink(true)
    const q = new Terminal(quiet.stream, true)
    q.status('sim')
    q.line('ALERT')
    q.done()
    expect(quiet.out).toEqual([])
  })
})
