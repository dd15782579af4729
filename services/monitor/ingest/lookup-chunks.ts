import { lit } from '../../shared/clickhouse/sql.ts'

// Join lookups: the ids of a batch are spread over the whole predictions table, so each lookup
// reads its id column through; a few large lookups read it fewer times than many small ones.
// At most LOOKUP_IDS ids (ClickHouse parses each as an AST element, at most 50,000 by default)
// and LOOKUP_BYTES of literals per query, sent with a max_query_size that any id a Kafka record
// can carry fits in.
export const LOOKUP_IDS = 20_000
export const LOOKUP_BYTES = 1_048_576
export const LOOKUP_MAX_QUERY_SIZE = 4 * LOOKUP_BYTES

/** The ids as SQL literals, in order, in lists of at most LOOKUP_IDS ids and LOOKUP_BYTES bytes
 *  (with their separators), except that an id longer than that gets a list of its own. */
export function lookupChunks(ids: Iterable<string>, maxIds = LOOKUP_IDS, maxBytes = LOOKUP_BYTES): string[][] {
  const chunks: string[][] = []
  let chunk: string[] = []
  let bytes = 0
  for (const id of ids) {
    const literal = lit(id)
    const size = Buffer.byteLength(literal) + 2
    if (chunk.length > 0 && (chunk.length >= maxIds || bytes + size > maxBytes)) {
      chunks.push(chunk)
      chunk = []
      bytes = 0
    }
    chunk.push(literal)
    bytes += size
  }
  if (chunk.length > 0) chunks.push(chunk)
  return chunks
}
