/** Why a record could not be accepted; `code` is stable (dashboards, dead-letter headers). */
export type DecodeErrorCode =
  | 'empty_message'
  | 'record_too_large'
  | 'unknown_framing'
  | 'unknown_schema_id'
  | 'incompatible_schema'
  | 'malformed_avro'
  | 'malformed_json'
  | 'invalid_event'
  | 'value_too_long'
  | 'malformed_string'
  | 'too_many_entries'
  | 'too_many_features'
  | 'time_out_of_range'

export class DecodeError extends Error {
  override name = 'DecodeError'
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message)
  }
}
