/** Why a record could not be accepted; `code` is stable (dashboards, dead-letter headers). */
export type DecodeErrorCode =
  | 'empty_message'
  | 'unknown_framing'
  | 'unknown_schema_id'
  | 'incompatible_schema'
  | 'malformed_avro'
  | 'malformed_json'
  | 'invalid_event'

export class DecodeError extends Error {
  override name = 'DecodeError'
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message)
  }
}
