import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readEventFile } from '../../../services/cli/produce-file.ts'
import { sampleLabel, samplePrediction } from '../../support/events.ts'

const dir = mkdtempSync(join(tmpdir(), 'event-file-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('readEventFile', () => {
  it('tells predictions from labels and names each bad line', () => {
    const path = join(dir, 'events.jsonl')
    const lines = [
      JSON.stringify(samplePrediction()),
      '',
      JSON.stringify(sampleLabel()),
      '{not json',
      JSON.stringify({ hello: 1 }),
      JSON.stringify({ ...samplePrediction(), event_time: 'x' }),
    ]
    writeFileSync(path, lines.join('\n'))
    const file = readEventFile(path)
    expect(file.predictions.map((p) => p.prediction_id)).toEqual(['p-1'])
    expect(file.labels.map((l) => l.prediction_id)).toEqual(['p-1'])
    expect(file.errors.map((e) => e.line)).toEqual([4, 5, 6])
    expect(file.errors[0]!.message).toMatch(/^not valid JSON/)
    expect(file.errors[1]!.message).toBe('neither a prediction (event_time) nor a label (label_time)')
    expect(file.errors[2]!.message).toMatch(/event_time/)
  })
})
