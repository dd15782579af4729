import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ClickHouse } from '../../../services/shared/clickhouse/client.ts'
import { assertReadOnlyUser, ReadOnlyUserError } from '../../../services/shared/clickhouse/read-only-user.ts'
import { loadEnv, readOnlyPassword } from '../../../services/shared/config/env.ts'

/** A server whose system.settings hold these values for the connected user. */
const serverWith = (settings: Record<string, string>): ClickHouse =>
  ({ query: async () => Object.entries(settings).map(([name, value]) => ({ name, value })) }) as unknown as ClickHouse

describe('the reader check', () => {
  it('passes readonly=1 with unquoted 64-bit integers', async () => {
    await expect(assertReadOnlyUser(serverWith({ readonly: '1', output_format_json_quote_64bit_integers: '0' }), 'a')).resolves.toBeUndefined()
  })

  it.each([
    [{ readonly: '0', output_format_json_quote_64bit_integers: '0' }, /readonly=0/],
    [{ readonly: '2', output_format_json_quote_64bit_integers: '0' }, /readonly=2/],
    [{ output_format_json_quote_64bit_integers: '0' }, /readonly=\?/],
    [{ readonly: '1', output_format_json_quote_64bit_integers: '1' }, /output_format_json_quote_64bit_integers=0/],
  ])('refuses %j', async (settings, message) => {
    const check = assertReadOnlyUser(serverWith(settings), 'a')
    await expect(check).rejects.toBeInstanceOf(ReadOnlyUserError)
    await expect(check).rejects.toThrow(message)
  })
})

describe('the read-only password', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'dg-pw-')), 'analyst.password')
  writeFileSync(file, 'from-the-file\nignored\n')

  it('comes from the variable first, even when empty, then the file, then is empty', () => {
    expect(readOnlyPassword(loadEnv({ CLICKHOUSE_READONLY_PASSWORD: 'from-env', CLICKHOUSE_READONLY_PASSWORD_FILE: file }))).toBe('from-env')
    expect(readOnlyPassword(loadEnv({ CLICKHOUSE_READONLY_PASSWORD: '', CLICKHOUSE_READONLY_PASSWORD_FILE: file }))).toBe('')
    expect(readOnlyPassword(loadEnv({ CLICKHOUSE_READONLY_PASSWORD_FILE: file }))).toBe('from-the-file')
    expect(readOnlyPassword(loadEnv({ CLICKHOUSE_READONLY_PASSWORD_FILE: `${file}.missing` }))).toBe('')
  })
})
