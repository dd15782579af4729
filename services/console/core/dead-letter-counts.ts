import type { DeadLetterCount } from './rows.ts'

/** Counts dead letters by reason code and model (records whose model cannot be told: '?'). */
export class DeadLetterTally {
  private readonly counts = new Map<string, DeadLetterCount>()

  add(code: string, model: string | null, failedAt: number): void {
    const key = `${code}\u0000${model ?? '?'}`
    const entry = this.counts.get(key) ?? { code, model: model ?? '?', count: 0, newest: 0 }
    entry.count += 1
    entry.newest = Math.max(entry.newest, failedAt)
    this.counts.set(key, entry)
  }

  rows(): DeadLetterCount[] {
    return [...this.counts.values()]
  }
}
