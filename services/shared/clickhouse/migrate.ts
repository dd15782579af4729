import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ClickHouse } from './client.ts'
import { lit } from './sql.ts'

export interface Migration {
  name: string
  statements: string[]
  checksum: string
}

export const DEFAULT_MIGRATIONS_DIR = new URL('../../../infra/clickhouse/', import.meta.url).pathname

/** Reads infra/clickhouse/NNNN_name.sql in name order; `{{db}}` stands for the database. */
export function loadMigrations(dir: string, database: string): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8')
      const statements = text
        .replace(/--[^\n]*/g, '')
        .split(/;\s*(?:\n|$)/)
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => s.replaceAll('{{db}}', database))
      return { name: file.replace(/\.sql$/, ''), statements, checksum: createHash('sha256').update(text).digest('hex') }
    })
}

export interface MigrationResult {
  applied: string[]
  skipped: string[]
}

/**
 * Applies the migrations not yet recorded in schema_migrations, in order. Each statement is
 * written to be idempotent (IF NOT EXISTS), so a crash between a statement and the record is
 * repaired by running again; an ADD COLUMN (which has no IF NOT EXISTS on ClickHouse 18.16) is
 * skipped when its column is already there. A recorded migration whose file changed is an
 * error: migrations are append-only.
 */
export async function migrate(ch: ClickHouse, dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationResult> {
  await ch.command(`CREATE DATABASE IF NOT EXISTS ${ch.database}`)
  await ch.command(
    `CREATE TABLE IF NOT EXISTS ${ch.table('schema_migrations')} (name String, checksum String, applied_at DateTime) ENGINE = ReplacingMergeTree() ORDER BY name`,
  )
  const done = new Map(
    (await ch.query<{ name: string; checksum: string }>(`SELECT name, any(checksum) AS checksum FROM ${ch.table('schema_migrations')} GROUP BY name`)).map(
      (row) => [row.name, row.checksum],
    ),
  )
  const result: MigrationResult = { applied: [], skipped: [] }
  for (const migration of loadMigrations(dir, ch.database)) {
    const recorded = done.get(migration.name)
    if (recorded !== undefined) {
      if (recorded !== migration.checksum) {
        throw new Error(`migration ${migration.name} was changed after it was applied; add a new migration instead`)
      }
      result.skipped.push(migration.name)
      continue
    }
    for (const statement of migration.statements) if (!(await columnAlreadyAdded(ch, statement))) await ch.command(statement)
    await ch.command(
      `INSERT INTO ${ch.table('schema_migrations')} (name, checksum, applied_at) VALUES (${lit(migration.name)}, ${lit(migration.checksum)}, now())`,
    )
    result.applied.push(migration.name)
  }
  return result
}

/** `ALTER TABLE db.table ADD COLUMN name ...` whose column the table already has. */
async function columnAlreadyAdded(ch: ClickHouse, statement: string): Promise<boolean> {
  const m = /^ALTER\s+TABLE\s+([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\s+ADD\s+COLUMN\s+([A-Za-z0-9_]+)\s/i.exec(statement)
  if (!m) return false
  const rows = await ch.query(`SELECT name FROM system.columns WHERE database = ${lit(m[1]!)} AND table = ${lit(m[2]!)} AND name = ${lit(m[3]!)}`)
  return rows.length > 0
}
