import { mulberry32 } from '../../services/shared/stats/random.ts'
import type { LabelEvent, PredictionEvent } from '../../services/shared/events/types.ts'

/** Seeded PRNG, so every run generates the same traffic. */
export const prng = mulberry32

export function normal(rand: () => number, mean = 0, sd = 1): number {
  const u = Math.max(rand(), 1e-12)
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())
}

/** One record to produce, with the Kafka timestamp it is produced at. */
export type Emission =
  | { kind: 'prediction'; at: number; event: PredictionEvent }
  | { kind: 'label'; at: number; event: LabelEvent }
  | { kind: 'raw'; topic: 'predictions' | 'labels'; at: number; key: string; value: Buffer; why: string }

export interface TrafficOptions {
  seed: number
  modelId: string
  start: number
  durationMs: number
  count: number
  labelShare?: number
  duplicateShare?: number
  earlyLabelShare?: number
  malformed?: number
  lateShare?: number
  /** From this event time on, x1 is shifted by +1.2 (a drift the detectors should report). */
  driftFrom?: number
}

/**
 * A binary classifier's traffic: numeric x1..x3 (x3 sometimes null), categorical country,
 * segment new_entity, a score that depends on x1, labels drawn from the score with delays from
 * seconds to two days, arriving out of order; some predictions and labels sent twice, some labels
 * sent before their prediction, and some malformed records. Emissions are sorted by Kafka time.
 */
export function generateTraffic(o: TrafficOptions): Emission[] {
  const rand = prng(o.seed)
  const out: Emission[] = []
  const countries = ['DE', 'FR', 'US', 'PL']
  for (let i = 0; i < o.count; i++) {
    const eventTime = o.start + Math.floor(rand() * o.durationMs)
    const x1 = normal(rand) + (o.driftFrom !== undefined && eventTime >= o.driftFrom ? 1.2 : 0)
    const score = 1 / (1 + Math.exp(-(1.5 * x1 - 0.2)))
    const prediction: PredictionEvent = {
      prediction_id: `${o.modelId}-${o.seed}-${i}`,
      model_id: o.modelId,
      model_version: rand() < 0.8 ? 'v1' : 'v2',
      event_time: eventTime,
      numeric_features: { x1, x2: normal(rand, 10, 3), x3: rand() < 0.1 ? null : rand() * 100 },
      categorical_features: { country: rand() < 0.03 ? 'XX' : countries[Math.floor(rand() * countries.length)]!, channel: rand() < 0.5 ? 'web' : null },
      prediction: { predicted_class: score >= 0.5 ? '1' : '0', scores: { '0': 1 - score, '1': score }, value: null },
      segments: { new_entity: rand() < 0.2 ? 'true' : 'false' },
    }
    // Sent up to 10 minutes after the event (out of order across predictions); a few arrive
    // hours late, after their window has closed.
    const late = rand() < (o.lateShare ?? 0.01)
    const sentAt = eventTime + (late ? 3_600_000 + Math.floor(rand() * 7_200_000) : Math.floor(rand() * 600_000))
    out.push({ kind: 'prediction', at: sentAt, event: prediction })
    if (rand() < (o.duplicateShare ?? 0.02)) out.push({ kind: 'prediction', at: sentAt + 1 + Math.floor(rand() * 3_600_000), event: prediction })
    if (rand() < (o.labelShare ?? 0.7)) {
      const truth = rand() < score ? '1' : '0'
      const delay = Math.floor(Math.exp(rand() * Math.log(2 * 86_400_000)))
      const label: LabelEvent = {
        prediction_id: prediction.prediction_id,
        model_id: o.modelId,
        label_time: eventTime + delay,
        label_class: truth,
        label_value: null,
      }
      const early = rand() < (o.earlyLabelShare ?? 0.02)
      const labelAt = early ? sentAt - 1 - Math.floor(rand() * 60_000) : Math.max(sentAt + 1, label.label_time)
      out.push({ kind: 'label', at: labelAt, event: early ? { ...label, label_time: Math.max(eventTime, Math.min(label.label_time, labelAt)) } : label })
      if (rand() < (o.duplicateShare ?? 0.02))
        out.push({
          kind: 'label',
          at: labelAt + 1 + Math.floor(rand() * 60_000),
          event: early ? { ...label, label_time: Math.max(eventTime, Math.min(label.label_time, labelAt)) } : label,
        })
    }
  }
  const malformed = o.malformed ?? 0
  for (let i = 0; i < malformed; i++) {
    const at = o.start + Math.floor(rand() * o.durationMs)
    const variants: ['predictions' | 'labels', Buffer, string][] = [
      ['predictions', Buffer.from('not json and not avro'), 'unknown_framing'],
      ['predictions', Buffer.from(JSON.stringify({ prediction_id: `bad-${i}`, model_id: o.modelId })), 'invalid_event'],
      [
        'predictions',
        Buffer.from(
          JSON.stringify({
            prediction_id: `bad-${i}`,
            model_id: 'no-such-model',
            model_version: 'v1',
            event_time: at,
            prediction: { predicted_class: '1', scores: {}, value: null },
          }),
        ),
        'unknown_model',
      ],
      ['labels', Buffer.from('{"prediction_id": "broken'), 'malformed_json'],
      [
        'labels',
        Buffer.from(JSON.stringify({ prediction_id: `bad-${i}`, model_id: o.modelId, label_time: at, label_class: 'maybe', label_value: null })),
        'unknown_class',
      ],
    ]
    const [topic, value, why] = variants[i % variants.length]!
    out.push({ kind: 'raw', topic, at, key: `bad-${i}`, value, why })
  }
  return out.sort((a, b) => a.at - b.at)
}
