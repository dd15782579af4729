import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

// The layering every service keeps: core (rules, no I/O, no timers, no clock of its own), store
// (every SQL string), run (wiring, loops, timers). Checked on the tree as it is.

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))

/** A string literal or template that starts an SQL statement. */
const SQL = /[`'"]\s*(SELECT|INSERT INTO|ALTER TABLE|CREATE (TEMPORARY )?TABLE|DROP TABLE|OPTIMIZE TABLE|TRUNCATE|KILL QUERY)\b/

describe('layout', () => {
  it('keeps SQL in store folders (and the ClickHouse client and migrations)', () => {
    const allowed = (f: string): boolean => f.includes('/store/') || f.startsWith(join('services', 'shared', 'clickhouse'))
    const offenders = [...files('services'), ...files('scenario')].filter((f) => !allowed(f) && SQL.test(readFileSync(f, 'utf8')))
    expect(offenders).toEqual([])
  })

  it('has each service in core, store and run, and nothing beside them but a README', () => {
    for (const service of ['monitor', 'policy', 'console']) {
      const entries = readdirSync(join('services', service)).sort()
      expect(entries.filter((e) => e !== 'README.md')).toEqual(['core', 'run', 'store'])
    }
  })

  it('lint refuses a core file that imports store or run, does I/O or reads the clock', async () => {
    const eslint = new ESLint()
    const source = [
      "import { findPredictions } from '../store/prediction-lookup.ts'",
      "import { createMonitorService } from '../run/monitor-service.ts'",
      "import { createKafka } from '../../shared/kafka/kafka-client.ts'",
      "import type { ConsumedRecord } from '../../shared/kafka/records.ts'",
      'export type R = ConsumedRecord',
      'export const f = (): unknown => [findPredictions, createMonitorService, createKafka, setTimeout(() => undefined, 1), Date.now(), new Date()]',
    ].join('\n')
    const [result] = await eslint.lintText(source, { filePath: 'services/monitor/core/probe.ts' })
    const rules = result!.messages.map((m) => `${m.line}:${m.ruleId}`)
    expect(rules).toEqual([
      '1:@typescript-eslint/no-restricted-imports',
      '2:@typescript-eslint/no-restricted-imports',
      '3:@typescript-eslint/no-restricted-imports',
      '6:no-restricted-globals',
      '6:no-restricted-properties',
      '6:no-restricted-syntax',
    ])
    // The same file in run is fine.
    const [inRun] = await eslint.lintText(source, { filePath: 'services/monitor/run/probe.ts' })
    expect(inRun!.messages).toEqual([])
  })
})
