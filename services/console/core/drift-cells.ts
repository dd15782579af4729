import type { ReferenceProfile } from '../../shared/records/reference-profile.ts'
import { alignCategories, psi } from '../../shared/stats/drift.ts'
import type { HeatCell } from './charts.ts'
import type { FeaturePoint } from './rows.ts'

// The heatmaps' cells: PSI of each feature in each window against the reference profile (the
// monitor's default drift measure), and each feature's null rate. Rows of one window from
// several model versions are added up first, as the window's segment-'all' numbers are.

function merged(rows: FeaturePoint[]): Map<string, FeaturePoint> {
  const out = new Map<string, FeaturePoint>()
  for (const r of rows) {
    const key = `${r.feature}\u0000${r.window_start}`
    const prev = out.get(key)
    if (!prev) {
      out.set(key, { ...r, histogram: [...r.histogram], categories: [...r.categories], category_counts: [...r.category_counts] })
      continue
    }
    prev.count += r.count
    prev.nulls += r.nulls
    r.histogram.forEach((v, i) => (prev.histogram[i] = (prev.histogram[i] ?? 0) + v))
    r.categories.forEach((c, i) => {
      const at = prev.categories.indexOf(c)
      if (at < 0) {
        prev.categories.push(c)
        prev.category_counts.push(r.category_counts[i] ?? 0)
      } else prev.category_counts[at] = prev.category_counts[at]! + (r.category_counts[i] ?? 0)
    })
  }
  return out
}

export function driftCells(rows: FeaturePoint[], reference: ReferenceProfile | null): HeatCell[] {
  const cells: HeatCell[] = []
  for (const r of merged(rows).values()) {
    let value: number | null = null
    const numeric = reference?.numeric[r.feature] ?? (reference?.prediction[r.feature] as { histogram?: number[] } | undefined)
    const categorical = reference?.categorical[r.feature] ?? (reference?.prediction[r.feature] as { categories?: string[]; counts?: number[] } | undefined)
    if (r.kind === 'numeric' && numeric?.histogram && numeric.histogram.length === r.histogram.length) value = psi(numeric.histogram, r.histogram)
    else if (r.kind === 'categorical' && categorical?.categories && categorical.counts) {
      const a = alignCategories(categorical.categories, categorical.counts, r.categories, r.category_counts)
      value = psi(a.reference, a.current)
    }
    cells.push({ feature: r.feature, t: r.window_start, value, title: `${r.feature}: PSI ${value === null ? 'n/a' : value.toFixed(3)} (${r.count} values)` })
  }
  return cells
}

export function nullRateCells(rows: FeaturePoint[]): HeatCell[] {
  return [...merged(rows).values()].map((r) => {
    const total = r.count + r.nulls
    const value = total > 0 ? r.nulls / total : null
    return {
      feature: r.feature,
      t: r.window_start,
      value,
      title: `${r.feature}: null rate ${value === null ? 'n/a' : (value * 100).toFixed(1) + '%'} of ${total}`,
    }
  })
}
