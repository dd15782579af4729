/**
 * How many refused approval-API calls (no or wrong token, malformed request) are audited: at most
 * `perRemote` per address and `total` overall in each window. Calls past that are answered 429
 * without touching ClickHouse, so a flood of bad requests cannot fill the audit table; they are
 * counted instead. Memory is bounded: one counter per address seen in the current window, at most
 * `total` of them.
 */
export class RefusalLimiter {
  private windowStart = 0
  private all = 0
  private readonly byRemote = new Map<string, number>()
  private droppedCount = 0

  constructor(
    private readonly now: () => number,
    private readonly perRemote = 20,
    private readonly total = 200,
    private readonly windowMs = 60_000,
  ) {}

  /** True when this refusal may be audited (and counts it). */
  allow(remote: string): boolean {
    const t = this.now()
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t
      this.all = 0
      this.byRemote.clear()
    }
    const mine = this.byRemote.get(remote) ?? 0
    if (this.all >= this.total || mine >= this.perRemote) {
      this.droppedCount++
      return false
    }
    this.all++
    this.byRemote.set(remote, mine + 1)
    return true
  }

  /** Refusals answered 429 without an audit row so far. */
  dropped(): number {
    return this.droppedCount
  }
}
