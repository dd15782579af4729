import { lit } from '../../shared/clickhouse/sql.ts'
import { chunkBySize } from '../../shared/collections/chunk-by-size.ts'

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
  return chunkBySize([...ids].map(lit), (literal) => Buffer.byteLength(literal) + 2, maxBytes, maxIds)
}
