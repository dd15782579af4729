import { describe, expect, it } from 'vitest'
import { formatDuration, parseDuration } from '../../../services/shared/config/duration.ts'
import { ConfigError, parseDriftgateConfig } from '../../../services/shared/config/model-config.ts'
import { loadEnv } from '../../../services/shared/config/env.ts'

const model = { model_id: 'm', task: 'binary_classification', positive_class: '1', classes: ['0', '1'], features: { numeric: ['a'], categorical: ['b'] } }

describe('durations', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    [42, 42],
  ])('parses %s', (input, ms) => expect(parseDuration(input)).toBe(ms))

  it('refuses what is not a duration, saying what it expects', () => {
    expect(() => parseDuration('5 minutes')).toThrow(/expected e.g. 30s, 5m, 1h, 7d/)
    expect(() => parseDuration(-1)).toThrow(/non-negative/)
  })

  it('formats back to the largest whole unit', () => {
    expect([formatDuration(300_000), formatDuration(3_600_000), formatDuration(90_000), formatDuration(1500)]).toEqual(['5m', '1h', '90s', '1500ms'])
  })
})

describe('model config', () => {
  it('fills defaults and turns durations into ms', () => {
    const config = parseDriftgateConfig({ models: [{ ...model, windows: ['5m', '1h'] }] }, '/tmp')
    const m = config.models[0]!
    expect(m.windows).toEqual([300_000, 3_600_000])
    expect(m.allowed_lateness).toBe(600_000)
    expect(m.label_horizon).toBe(30 * 86_400_000)
    expect(m.segments).toEqual([])
  })

  it('names every bad field in one error', () => {
    const bad = {
      models: [
        { ...model, windows: ['5 minutes'], extra: 1 },
        { ...model, features: { numeric: ['a', 'a'] } },
      ],
    }
    let error: unknown
    try {
      parseDriftgateConfig(bad, '/tmp')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).toMatch(/models\[0\]\.windows\[0\]: invalid duration '5 minutes'/)
    expect(message).toMatch(/models\[0\]: Unrecognized key: "extra"/)
    expect(message).toMatch(/models\[1\]\.features: feature 'a' is listed twice/)
  })

  it('refuses two models with one id', () => {
    expect(() => parseDriftgateConfig({ models: [model, model] }, '/tmp')).toThrow(/models\[1\]\.model_id: duplicate model_id 'm'/)
  })

  it('refuses a join grace longer than the wait for orphans', () => {
    expect(parseDriftgateConfig({ models: [model] }, '/tmp').models[0]!.join_grace).toBe(5 * 60_000)
    expect(() => parseDriftgateConfig({ models: [{ ...model, orphan_after: '10m', join_grace: '15m' }] }, '/tmp')).toThrow(
      /models\[0\]\.join_grace: join_grace \(900000 ms\) must not exceed orphan_after \(600000 ms\)/,
    )
  })

  it('requires the positive class and the classes of a classifier', () => {
    expect(() => parseDriftgateConfig({ models: [{ ...model, positive_class: undefined, classes: undefined }] }, '/tmp')).toThrow(
      /models\[0\]\.positive_class: required for binary_classification[\s\S]*models\[0\]\.classes: list at least two classes/,
    )
  })
})

describe('environment', () => {
  it('has local defaults and validates what is set', () => {
    const env = loadEnv({})
    expect(env.KAFKA_BROKERS).toEqual(['127.0.0.1:9092'])
    expect(env.CLICKHOUSE_DATABASE).toBe('driftgate')
    expect(() => loadEnv({ EVENT_PARTITIONS: 'six' })).toThrow(/EVENT_PARTITIONS/)
    expect(() => loadEnv({ CLICKHOUSE_DATABASE: 'drop table;' })).toThrow(/CLICKHOUSE_DATABASE/)
  })
})
