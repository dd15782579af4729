import type { ClickHouse } from './client.ts'

/** The user given to read with could write, lift its limits or misread numbers. */
export class ReadOnlyUserError extends Error {}

/**
 * Refuses a ClickHouse user that is not readonly=1 (readonly=0 writes; readonly=2 may lift its own
 * limits per query), and one whose profile leaves 64-bit integers quoted in JSON, which a reader
 * that may not send settings would get as strings.
 */
export async function assertReadOnlyUser(ch: ClickHouse, user: string): Promise<void> {
  const rows = await ch.query<{ name: string; value: string }>(
    "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'output_format_json_quote_64bit_integers')",
  )
  const value = (name: string): string | undefined => rows.find((r) => r.name === name)?.value
  const readonly = value('readonly')
  if (readonly !== '1') {
    throw new ReadOnlyUserError(
      `ClickHouse user '${user}' has readonly=${readonly ?? '?'}: the CLI reads only with a readonly=1 user ` +
        '(set CLICKHOUSE_READONLY_USER to one; infra/clickhouse/README.md shows the profile)',
    )
  }
  if (value('output_format_json_quote_64bit_integers') !== '0') {
    throw new ReadOnlyUserError(
      `ClickHouse user '${user}': set output_format_json_quote_64bit_integers=0 in its profile (a readonly=1 user cannot set it per query)`,
    )
  }
}
