import { z } from 'zod'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** Parses '250ms', '30s', '5m', '1h', '7d', '2w' (or a number of ms) into milliseconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new Error(`invalid duration ${input}: expected a non-negative number of ms`)
    return input
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(input)
  if (!match) throw new Error(`invalid duration '${input}': expected e.g. 30s, 5m, 1h, 7d`)
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as string]!)
}

/** Formats milliseconds back into the largest whole unit ('5m', '1h', '90s'). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

/** zod type for a duration given as '5m' or as ms; yields milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value)
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message })
    return z.NEVER
  }
})
