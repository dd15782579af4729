import { readFileSync } from 'node:fs'
import { DecodeError } from '../shared/codec/decode-error.ts'
import { checkLabel, checkPrediction } from '../shared/codec/event-shape.ts'
import type { LabelEvent, PredictionEvent } from '../shared/events/types.ts'
import type { EventProducer } from '../shared/producer/event-producer.ts'

export interface ProduceReport {
  predictions: number
  labels: number
  errors: { line: number; message: string }[]
}

export interface EventFile {
  predictions: PredictionEvent[]
  labels: LabelEvent[]
  errors: { line: number; message: string }[]
}

/**
 * Reads a JSON-lines file: each line a PredictionEvent or a LabelEvent (told apart by
 * `event_time` vs `label_time`). Every bad line is reported with its number and the field at fault.
 */
export function readEventFile(path: string): EventFile {
  const file: EventFile = { predictions: [], labels: [], errors: [] }
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const line = i + 1
      if (!text.trim()) return
      let raw: unknown
      try {
        raw = JSON.parse(text)
      } catch (error) {
        file.errors.push({ line, message: `not valid JSON: ${(error as Error).message}` })
        return
      }
      try {
        if (raw && typeof raw === 'object' && 'label_time' in raw) file.labels.push(checkLabel(raw))
        else if (raw && typeof raw === 'object' && 'event_time' in raw) file.predictions.push(checkPrediction(raw))
        else file.errors.push({ line, message: 'neither a prediction (event_time) nor a label (label_time)' })
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error
        file.errors.push({ line, message: error.message.replace(/\n/g, '; ') })
      }
    })
  return file
}

/** Sends the events of a JSON-lines file (readEventFile); bad lines are reported, good lines sent. */
export async function produceFile(path: string, producer: EventProducer): Promise<ProduceReport> {
  const { predictions, labels, errors } = readEventFile(path)
  const report: ProduceReport = { predictions: 0, labels: 0, errors }
  for (let i = 0; i < predictions.length; i += 1000) await producer.sendPredictions(predictions.slice(i, i + 1000))
  for (let i = 0; i < labels.length; i += 1000) await producer.sendLabels(labels.slice(i, i + 1000))
  report.predictions = predictions.length
  report.labels = labels.length
  return report
}
