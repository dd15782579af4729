/** A record as our services see it, whatever Kafka client delivered it. */
export interface ConsumedRecord {
  topic: string
  partition: number
  /** Kafka offsets are 64-bit: kept as the decimal string the broker gave. */
  offset: string
  key: Buffer | null
  value: Buffer | null
  /** Record timestamp in ms (producer create time unless the topic uses log-append time). */
  timestamp: number
  headers: Record<string, string>
}

export interface OutgoingRecord {
  key: string | Buffer | null
  value: Buffer
  headers?: Record<string, string>
  /** Record timestamp in ms; the broker's default (now) when absent. */
  timestamp?: number
}

/** Shared by every record without headers (most): nothing writes to a record's headers. */
const NO_HEADERS: Record<string, string> = Object.freeze({})

/** A Kafka message's headers as text (UTF-8; a repeated header's values joined by commas). */
export function textHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Record<string, string> {
  let out: Record<string, string> | null = null
  for (const k in headers) {
    const v = headers[k]
    out ??= {}
    out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v)
  }
  return out ?? NO_HEADERS
}
