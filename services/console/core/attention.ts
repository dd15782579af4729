import type { ModelState } from './rows.ts'

/** Models that need looking at first: critical alerts, then any firing, open episodes, poor
 *  label coverage, monitor lag; the name breaks ties so the order is stable. */
export function byAttention(models: ModelState[]): ModelState[] {
  const key = (m: ModelState): number[] => [m.firing_critical, m.firing, m.open_episodes, m.last_window === null ? 1 : 0, m.lag_ms ?? 0]
  return [...models].sort((a, b) => {
    const ka = key(a)
    const kb = key(b)
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return kb[i]! - ka[i]!
    const ca = a.label_coverage ?? 1
    const cb = b.label_coverage ?? 1
    if (ca !== cb) return ca - cb
    return a.model_id.localeCompare(b.model_id)
  })
}
