import { createClient, ClickHouseLogLevel, type ClickHouseClient } from '@clickhouse/client'
import { Readable } from 'node:stream'
import { ident } from './sql.ts'
import type { RowBinaryRows } from './row-binary.ts'

/** ClickHouse's default max_query_size: the bytes of a query it parses. */
const DEFAULT_MAX_QUERY_SIZE = 262_144

export interface ClickHouseConfig {
  url: string
  username?: string
  password?: string
  database: string
  requestTimeoutMs?: number
  /** A readonly=1 user, which may not send settings: none are sent (its profile sets the
   *  64-bit integer output, see read-only-user.ts). */
  readOnly?: boolean
}

/**
 * The one way the services talk to ClickHouse. Rows go in and out as JSONEachRow, except the raw
 * events, which go in as RowBinary (row-binary.ts); 64-bit integers come back as numbers (ms
 * timestamps and counts, below 2^53). Window data versions (ms × 10^6 + rows) are larger: read
 * them with toString.
 */
export class ClickHouse {
  readonly database: string
  readonly readOnly: boolean
  private readonly client: ClickHouseClient

  constructor(config: ClickHouseConfig) {
    this.database = ident(config.database)
    this.readOnly = config.readOnly ?? false
    this.client = createClient({
      url: config.url,
      username: config.username ?? 'default',
      password: config.password ?? '',
      request_timeout: config.requestTimeoutMs ?? 30_000,
      // Errors are thrown to the caller, who logs them with context; the client's own logger
      // would print each one a second time.
      log: { level: ClickHouseLogLevel.OFF },
      ...(this.readOnly ? {} : { clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } }),
    })
  }

  /** Table name qualified with the configured database. */
  table(name: string): string {
    return `${this.database}.${ident(name)}`
  }

  /** `settings`: ClickHouse settings for this query only (e.g. a larger max_query_size). */
  async query<T = Record<string, unknown>>(sql: string, settings?: Record<string, number>): Promise<T[]> {
    if (settings && this.readOnly) throw new Error('a read-only ClickHouse user cannot set per-query settings')
    // A query longer than ClickHouse parses by default (a model's thousands of classes written
    // into its window queries) is sent with a max_query_size that fits it and the FORMAT clause
    // the client appends.
    const bytes = this.readOnly ? 0 : Buffer.byteLength(sql)
    if (bytes + 1_024 > DEFAULT_MAX_QUERY_SIZE) settings = { ...settings, max_query_size: Math.max(settings?.max_query_size ?? 0, bytes + 1_024) }
    const result = await this.client.query({ query: sql, format: 'JSONEachRow', ...(settings ? { clickhouse_settings: settings } : {}) })
    return result.json<T>()
  }

  async command(sql: string): Promise<void> {
    await this.client.command({ query: sql })
  }

  /** One INSERT of all rows (callers batch: one insert per table per batch). */
  async insert(table: string, rows: readonly object[]): Promise<void> {
    if (rows.length === 0) return
    await this.client.insert({ table: this.table(table), values: rows as object[], format: 'JSONEachRow' })
  }

  /** One INSERT per block of rows already encoded as RowBinary (RowBinaryRowsWriter.inserts),
   *  into the columns they name, one after the other. */
  async insertRowBinary(table: string, blocks: readonly RowBinaryRows[]): Promise<void> {
    for (const encoded of blocks) {
      if (encoded.rows === 0) continue
      const result = await this.client.exec({
        query: `INSERT INTO ${this.table(table)} (${encoded.columns.map(ident).join(', ')}) FORMAT RowBinary`,
        values: Readable.from([encoded.bytes]),
      })
      // The response must be read for the connection to be reused.
      for await (const chunk of result.stream) void chunk
    }
  }

  async ping(): Promise<boolean> {
    const result = await this.client.ping()
    return result.success
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}
