import type { EventProducer } from '../services/shared/producer/event-producer.ts'
import type { ScenarioEvent } from './scenario.ts'
import { HOUR } from './scenario.ts'

export interface PlayOptions {
  /** Simulated hours per real second (0: as fast as the producer and `beforeHour` allow). */
  hoursPerSecond: number
  /** Awaited before each simulated hour is sent: where the caller waits for a lagging consumer. */
  beforeHour?(hourStart: number): Promise<void>
  /** Called after each simulated hour was acknowledged by Kafka. */
  onHour?(hourStart: number, produced: { predictions: number; labels: number }): void
  signal?: AbortSignal
}

/**
 * Produces scenario events in Kafka-time order, one simulated hour at a time, each record
 * stamped with its simulated time (so windows, lateness and label delays follow the scenario,
 * not the wall clock). The pace is a ceiling: an hour is never sent before its due time, and
 * later than that when `beforeHour` makes it wait.
 */
export async function playScenario(events: ScenarioEvent[], producer: EventProducer, options: PlayOptions): Promise<{ predictions: number; labels: number }> {
  const produced = { predictions: 0, labels: 0 }
  let i = 0
  let started = Date.now()
  const firstHour = events.length ? Math.floor(events[0]!.at / HOUR) * HOUR : 0
  while (i < events.length && !options.signal?.aborted) {
    const hourStart = Math.floor(events[i]!.at / HOUR) * HOUR
    const waitedFrom = Date.now()
    await options.beforeHour?.(hourStart)
    // Time spent waiting for the consumer shifts the schedule instead of being made up in a burst.
    const waited = Date.now() - waitedFrom
    if (waited > 50) started += waited
    if (options.signal?.aborted) break
    const predictions: ScenarioEvent[] = []
    const labels: ScenarioEvent[] = []
    while (i < events.length && events[i]!.at < hourStart + HOUR) {
      const e = events[i++]!
      if (e.prediction) predictions.push(e)
      else labels.push(e)
    }
    // Predictions of the hour before its labels: a label at most an hour old follows its prediction.
    if (predictions.length)
      await producer.sendPredictions(
        predictions.map((e) => e.prediction!),
        { timestamps: predictions.map((e) => e.at) },
      )
    if (labels.length)
      await producer.sendLabels(
        labels.map((e) => e.label!),
        { timestamps: labels.map((e) => e.at) },
      )
    produced.predictions += predictions.length
    produced.labels += labels.length
    options.onHour?.(hourStart, produced)
    if (options.hoursPerSecond > 0) {
      const due = started + ((hourStart + HOUR - firstHour) / HOUR / options.hoursPerSecond) * 1000
      const wait = due - Date.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
  return produced
}
