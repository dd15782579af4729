/**
 * Splits items, in order, into groups of at most `maxItems` items whose sizes add up to at most
 * `maxBytes`; an item larger than that gets a group of its own.
 */
export function chunkBySize<T>(items: Iterable<T>, sizeOf: (item: T) => number, maxBytes: number, maxItems = Infinity): T[][] {
  const chunks: T[][] = []
  let chunk: T[] = []
  let bytes = 0
  for (const item of items) {
    const size = sizeOf(item)
    if (chunk.length > 0 && (chunk.length >= maxItems || bytes + size > maxBytes)) {
      chunks.push(chunk)
      chunk = []
      bytes = 0
    }
    chunk.push(item)
    bytes += size
  }
  if (chunk.length > 0) chunks.push(chunk)
  return chunks
}
