/** A dependency (broker, ClickHouse, schema registry) failed: retry, never blame the record. */
export class InfrastructureError extends Error {
  override name = 'InfrastructureError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

// ClickHouse error codes that say the server is overloaded, unreachable or out of resources, not
// that a query or row is wrong: timeouts, too many queries or parts, memory, read-only, network.
const CLICKHOUSE_INFRASTRUCTURE_CODES = new Set([
  '3',
  '159',
  '160',
  '164',
  '202',
  '203',
  '209',
  '210',
  '236',
  '241',
  '242',
  '252',
  '285',
  '394',
  '425',
  '439',
  '999',
])

const NODE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
])

/**
 * True when the error says a dependency failed rather than the data: our InfrastructureError,
 * network errors, kafkajs errors it marks retriable, and ClickHouse's overload and network codes.
 * Anything else may be caused by a record.
 */
export function isInfrastructureError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof InfrastructureError) return true
    const fields = e as Error & { code?: unknown; retriable?: boolean; type?: unknown }
    if (fields.retriable === true) return true
    if (typeof fields.code === 'string' && NODE_NETWORK_CODES.has(fields.code)) return true
    // A ClickHouse server error (@clickhouse/client's ClickHouseError: numeric code, upper-case type).
    const fromClickHouse = typeof fields.code === 'string' && /^\d+$/.test(fields.code) && typeof fields.type === 'string'
    if (fromClickHouse) {
      if (CLICKHOUSE_INFRASTRUCTURE_CODES.has(fields.code as string)) return true
      continue
    }
    if (/^KafkaJS(Connection|RequestTimeout|NumberOfRetriesExceeded|BrokerNotFound|LockTimeout|Timeout)Error$/.test(e.name)) return true
    if (/socket hang up|timeout|timed out|ECONNREFUSED|ECONNRESET/i.test(e.message)) return true
  }
  return false
}
