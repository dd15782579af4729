/**
 * Handles a batch so that one record cannot stop it: when the handler fails and the failure may
 * be the records' fault (`mayBeRecords`: not an infrastructure error, and the dependencies answer),
 * the batch is split in halves, each handled on its own, down to the single record that still
 * fails; that record is `reject`ed (dead-lettered) and the rest of the batch proceeds. A failure
 * that is not the records' fault is thrown, so the caller retries the whole batch; handlers are
 * idempotent, so the halves already handled are handled again harmlessly.
 */
export async function handleIsolating<R, S>(
  records: R[],
  deps: {
    handle(records: R[]): Promise<S>
    mayBeRecords(error: unknown): Promise<boolean>
    reject(record: R, error: unknown): Promise<void>
  },
): Promise<{ results: S[]; rejected: R[] }> {
  const results: S[] = []
  const rejected: R[] = []
  const run = async (part: R[]): Promise<void> => {
    let error: unknown
    try {
      results.push(await deps.handle(part))
      return
    } catch (e) {
      error = e
    }
    if (!(await deps.mayBeRecords(error))) throw error
    if (part.length === 1) {
      // Once more on its own, so that a failure that passed in between is not blamed on it.
      try {
        results.push(await deps.handle(part))
        return
      } catch (e) {
        if (!(await deps.mayBeRecords(e))) throw e
        error = e
      }
      await deps.reject(part[0]!, error)
      rejected.push(part[0]!)
      return
    }
    const middle = Math.ceil(part.length / 2)
    await run(part.slice(0, middle))
    await run(part.slice(middle))
  }
  await run(records)
  return { results, rejected }
}
