// SQL literals for ClickHouse. The 18.16 server has no query parameters, so every value that
// reaches SQL goes through lit(): strings are quoted with backslash and quote escaped.

export type SqlValue = string | number | boolean | null | SqlValue[]

export function lit(value: SqlValue): string {
  if (value === null) return 'NULL'
  if (Array.isArray(value)) return `[${value.map(lit).join(', ')}]`
  if (typeof value === 'boolean') return value ? '1' : '0'
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write non-finite number ${value} into SQL`)
    return String(value)
  }
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/** A database or table name: letters, digits and underscore only (names never come from users). */
export function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid ClickHouse identifier '${name}'`)
  return name
}
