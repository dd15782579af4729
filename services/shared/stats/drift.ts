import { chiSquaredSurvival } from './gamma.ts'

const total = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)

/**
 * Population Stability Index between two count vectors on the same bins:
 * Σ (c − r) · ln(c / r) over proportions. An empty bin on one side would make it infinite, so
 * proportions are floored at epsilon (the usual practice; with 1e-4 a bin that holds 1% on one
 * side and nothing on the other adds about 0.046). Null when either side has no counts.
 */
export function psi(reference: number[], current: number[], epsilon = 1e-4): number | null {
  const rt = total(reference)
  const ct = total(current)
  if (rt === 0 || ct === 0) return null
  let sum = 0
  for (let i = 0; i < Math.max(reference.length, current.length); i++) {
    const r = Math.max((reference[i] ?? 0) / rt, epsilon)
    const c = Math.max((current[i] ?? 0) / ct, epsilon)
    sum += (c - r) * Math.log(c / r)
  }
  return sum
}

/** Jensen–Shannon distance (square root of the divergence, log base 2): 0 identical, 1 disjoint. */
export function jensenShannonDistance(reference: number[], current: number[]): number | null {
  const rt = total(reference)
  const ct = total(current)
  if (rt === 0 || ct === 0) return null
  let divergence = 0
  for (let i = 0; i < Math.max(reference.length, current.length); i++) {
    const p = (reference[i] ?? 0) / rt
    const q = (current[i] ?? 0) / ct
    const m = (p + q) / 2
    if (p > 0) divergence += 0.5 * p * Math.log2(p / m)
    if (q > 0) divergence += 0.5 * q * Math.log2(q / m)
  }
  return Math.sqrt(Math.min(1, Math.max(0, divergence)))
}

/** Kolmogorov–Smirnov statistic from two histograms on the same bins: the largest gap between
 *  the two empirical CDFs at the bucket boundaries (a lower bound of the raw-data statistic). */
export function ksStatisticFromHistograms(reference: number[], current: number[]): number | null {
  const rt = total(reference)
  const ct = total(current)
  if (rt === 0 || ct === 0) return null
  let r = 0
  let c = 0
  let max = 0
  for (let i = 0; i < Math.max(reference.length, current.length); i++) {
    r += (reference[i] ?? 0) / rt
    c += (current[i] ?? 0) / ct
    max = Math.max(max, Math.abs(r - c))
  }
  return max
}

/**
 * Chi-squared test of homogeneity on the 2 × k table (reference counts, current counts);
 * categories empty on both sides are dropped. Cramér's V (√(χ²/n) for two rows) is the effect
 * size: at production volumes the p-value is tiny for any difference, V says how big it is.
 */
export function chiSquaredTest(reference: number[], current: number[]): { statistic: number; dof: number; pValue: number; cramersV: number } | null {
  const rows: [number, number][] = []
  for (let i = 0; i < Math.max(reference.length, current.length); i++) {
    const r = reference[i] ?? 0
    const c = current[i] ?? 0
    if (r + c > 0) rows.push([r, c])
  }
  const rt = rows.reduce((s, [r]) => s + r, 0)
  const ct = rows.reduce((s, [, c]) => s + c, 0)
  const n = rt + ct
  if (rt === 0 || ct === 0 || rows.length < 2) return null
  let statistic = 0
  for (const [r, c] of rows) {
    const colTotal = r + c
    const er = (colTotal * rt) / n
    const ec = (colTotal * ct) / n
    statistic += (r - er) ** 2 / er + (c - ec) ** 2 / ec
  }
  const dof = rows.length - 1
  return { statistic, dof, pValue: chiSquaredSurvival(statistic, dof), cramersV: Math.sqrt(statistic / n) }
}

/** Puts two category count lists on one axis: reference order first, then new categories sorted. */
export function alignCategories(refCats: string[], refCounts: number[], curCats: string[], curCounts: number[]): { categories: string[]; reference: number[]; current: number[] } {
  const categories = [...refCats, ...curCats.filter((c) => !refCats.includes(c)).sort()]
  const refMap = new Map(refCats.map((c, i) => [c, refCounts[i] ?? 0]))
  const curMap = new Map(curCats.map((c, i) => [c, curCounts[i] ?? 0]))
  return { categories, reference: categories.map((c) => refMap.get(c) ?? 0), current: categories.map((c) => curMap.get(c) ?? 0) }
}
