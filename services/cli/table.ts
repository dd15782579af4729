/** Formats rows as an aligned text table (numbers right-aligned), for the terminal. */
export function formatTable(rows: Record<string, unknown>[], maxWidth = 60): string {
  if (rows.length === 0) return '(no rows)'
  const columns = Object.keys(rows[0]!)
  const cell = (v: unknown): string => {
    const text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
    return text.length > maxWidth ? `${text.slice(0, maxWidth - 1)}…` : text
  }
  const cells = rows.map((r) => columns.map((c) => cell(r[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)))
  const numeric = columns.map((c) => rows.every((r) => r[c] === null || typeof r[c] === 'number'))
  const line = (values: string[]): string =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}
