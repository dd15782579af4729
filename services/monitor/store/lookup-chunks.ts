import { lit } from '../../shared/clickhouse/sql.ts'
import { chunkBySize } from '../../shared/collections/chunk-by-size.ts'

// Join lookups: the ids of a batch are spread over the whole predictions table, so each lookup
// reads its id column through; a few large lookups read it fewer times than many small ones. The
// ids go in as one string literal that ClickHouse splits: parsing 10,000 literals took 18.16 about
// 70 ms per lookup, the split set about 15 (an id holding a line break, rare, goes as a literal of
// its own). At most LOOKUP_BYTES of ids per query, sent with a max_query_size that any id a Kafka
// record can carry fits in.
export const LOOKUP_BYTES = 1_048_576
export const LOOKUP_MAX_QUERY_SIZE = 4 * LOOKUP_BYTES

/** The ids, in order, in lists of at most `maxBytes` bytes once written into SQL (with their
 *  separators), except that an id longer than that gets a list of its own. */
export function lookupChunks(ids: Iterable<string>, maxBytes = LOOKUP_BYTES): string[][] {
  return chunkBySize(ids, (id) => Buffer.byteLength(lit(id)) - 1, maxBytes)
}

/** A subquery giving exactly the ids, for `prediction_id IN (...)`. */
export function idSetSql(ids: readonly string[]): string {
  const plain = ids.filter((id) => !id.includes('\n'))
  const broken = ids.filter((id) => id.includes('\n'))
  const split = plain.length > 0 ? `splitByChar('\\n', ${lit(plain.join('\n'))})` : 'CAST([] AS Array(String))'
  const set = broken.length > 0 ? `arrayConcat(${split}, ${lit(broken)})` : split
  return `SELECT arrayJoin(${set}) AS id`
}
