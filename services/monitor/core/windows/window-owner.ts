/**
 * Which monitor instance of a group computes a model's windows: the one reading the predictions
 * partition the model's id hashes to (32-bit FNV-1a, modulo the partition count). Every window
 * holds records of every partition, so without an owner each instance would compute each window
 * its records touch. Other instances store their records and wait for the owner's computation
 * (run/monitor-pipeline.ts).
 */
export function ownerPartition(modelId: string, partitions: number): number {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(modelId, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
  return hash % partitions
}

/** The stored computations that started after a batch's rows were stored: ClickHouse server
 *  seconds, so a computation that began a full second after the insert's acknowledgement
 *  (`storedAt`, read after it) began after the insert and read its rows. */
export const coversRowsStoredAt = (computedFrom: number | undefined, storedAt: number): boolean => computedFrom !== undefined && computedFrom > storedAt

/**
 * Whether a model's owner is at work on it: its latest judged computation (`judgedFrom`, server
 * seconds) began at most a backlog interval before a batch's rows were stored. An owner busy with
 * a long round begun before the rows were stored has judged none since them, yet is at work:
 * given only the idle wait, the other instance computed the same windows (1M bench events, two
 * processes: 19 windows computed by both).
 */
export const ownerWorking = (judgedFrom: number | undefined, storedAt: number, backlogMs: number): boolean =>
  judgedFrom !== undefined && judgedFrom >= storedAt - backlogMs / 1000
