import { outcome, type DecisionContext, type GateOutcome } from '../decision-context.ts'
import type { PolicyConfig } from '../policy-config.ts'
import { describeAlert, firingRun, firingShifts, iso } from './gate-helpers.ts'

// Gate 4. One bad window is noise more often than a new world: act only on a shift that held
// for `persistence_windows` consecutive windows.

export function persistenceGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  const needed = policy.persistence_windows
  const shifts = firingShifts(context)
  if (shifts.length === 0) {
    return outcome('persistence', 'suppress', 'no_firing_shift', 'No drift or performance alert of this episode is firing: there is no shift to act on.', {
      facts: { longest_run: 0, required: needed },
    })
  }
  const runs = shifts.map((alert) => ({ alert, run: firingRun(alert) })).sort((a, b) => b.run - a.run)
  const best = runs[0]!
  const facts = { longest_run: best.run, required: needed }
  if (best.run < needed) {
    return outcome(
      'persistence',
      'suppress',
      best.run === 1 ? 'single_window_spike' : 'not_persistent',
      `The longest run is ${best.run} consecutive window${best.run === 1 ? '' : 's'} (${describeAlert(best.alert)} since ${iso(best.alert.first_seen)}); ${needed} are needed. A short spike is not a reason to retrain.`,
      { facts },
    )
  }
  return outcome(
    'persistence',
    'pass',
    'sustained',
    `${describeAlert(best.alert)} fired for ${best.run} consecutive windows (${iso(best.alert.first_seen)}..${iso(best.alert.last_seen)}), at least ${needed} needed.`,
    { facts },
  )
}
