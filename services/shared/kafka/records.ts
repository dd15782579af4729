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
