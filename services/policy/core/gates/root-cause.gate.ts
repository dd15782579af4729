import type { MonitorTrigger } from '../../../shared/events/types.ts'
import { outcome, type DecisionContext, type GateOutcome } from '../decision-context.ts'
import type { PolicyConfig } from '../policy-config.ts'
import { investigationOf } from '../investigations.ts'
import { alertEnd, atLeast, describeAlert, firingShifts, human, iso } from './gate-helpers.ts'

// Gate 1. A shift seen together with broken data (nulls, lost joins, missing traffic, a new
// schema) or right after a deploy is more likely a pipeline problem than a changed world.
// Retraining then learns the flaw, so the answer is to investigate, never to retrain.

interface Finding {
  code: string
  rank: number
  text: string
}

// The most specific explanation first: it becomes the decision's code.
const RANK = {
  schema_change: 0,
  concurrent_data_quality_alert: 1,
  concurrent_join_health_alert: 2,
  volume_anomaly: 3,
  concurrent_alert: 4,
  shift_after_deploy: 5,
}

export function rootCauseGate(context: DecisionContext, policy: PolicyConfig): GateOutcome {
  const rules = policy.root_cause
  const from = context.episode.change_point - rules.lookback
  const to = context.as_of
  const byId = new Map<string, MonitorTrigger>()
  for (const alert of [...context.concurrent_alerts, ...context.episode.alerts]) byId.set(alert.alert_id, alert)

  const findings: Finding[] = []
  for (const alert of byId.values()) {
    if (!atLeast(alert.severity, rules.min_severity)) continue
    if (alert.first_seen > to || alertEnd(alert) < from) continue
    const span = `${iso(alert.first_seen)}..${iso(alertEnd(alert))}, ${alert.severity}`
    if (alert.subject.startsWith(rules.schema_subject_prefix)) {
      findings.push({ code: 'schema_change', rank: RANK.schema_change, text: `schema change reported by ${describeAlert(alert)} (${span})` })
    } else if (rules.blocking_kinds.includes(alert.kind)) {
      const code = alert.kind === 'data_quality' || alert.kind === 'join_health' ? `concurrent_${alert.kind}_alert` : 'concurrent_alert'
      findings.push({ code, rank: RANK[code as keyof typeof RANK] ?? RANK.concurrent_alert, text: `${describeAlert(alert)} (${span})` })
    } else if (
      alert.kind === 'anomaly' &&
      rules.anomaly_subjects.includes(alert.subject) &&
      !(alert.subject === 'volume' && policy.segments.cold_start.includes(alert.segment))
    ) {
      // A volume anomaly of a cold-start segment is that segment growing or shrinking (a launch,
      // a campaign), not traffic lost or duplicated: the segment gate deals with it.
      const code = alert.subject === 'volume' ? 'volume_anomaly' : 'concurrent_alert'
      findings.push({ code, rank: RANK[code], text: `${describeAlert(alert)} (${span})` })
    }
  }

  // Skew right after a deploy: the new version (or its feature pipeline) sees different
  // inputs than it was trained on; a retrain would bake the skew in.
  const shifts = firingShifts(context)
  if (shifts.length > 0) {
    for (const deploy of context.deploys) {
      const gap = context.episode.change_point - deploy.first_seen
      if (gap >= 0 && gap <= rules.post_deploy_window) {
        findings.push({
          code: 'shift_after_deploy',
          rank: RANK.shift_after_deploy,
          text: `the shift began ${human(gap)} after version ${deploy.model_version} went live (${iso(deploy.first_seen)}), within the ${human(rules.post_deploy_window)} post-deploy window`,
        })
      }
    }
  }

  const evidence = ['concurrent_alerts', 'deploys']
  const recorded = investigationOf(context.history.investigations, context.episode.episode_id)
  if (recorded) {
    const who = `${recorded.actor} recorded at ${iso(recorded.at)}${recorded.comment ? ` ('${recorded.comment.slice(0, 200)}')` : ''}`
    const facts = { findings: findings.length, investigation: recorded.outcome }
    if (recorded.outcome === 'false_alarm')
      return outcome('root_cause', 'suppress', 'false_alarm', `A false alarm, ${who}: nothing to retrain.`, { evidence, facts })
    if (recorded.outcome === 'pipeline_bug') {
      const fixed = recorded.fixed_at === null ? 'not fixed yet' : `fixed at ${iso(recorded.fixed_at)}`
      return outcome(
        'root_cause',
        'suppress',
        'pipeline_bug',
        `A pipeline bug, ${fixed}, ${who}: its windows from ${iso(recorded.change_point)} are left out of the evidence and training data of later decisions; nothing to retrain for it.`,
        { evidence, facts },
      )
    }
    if (findings.length > 0) {
      findings.sort((a, b) => a.rank - b.rank)
      return outcome(
        'root_cause',
        'pass',
        'confirmed_real_change',
        `A real change, ${who}, so these were looked at and set aside: ${findings
          .slice(0, 5)
          .map((f) => f.text)
          .join('; ')}.`,
        { evidence, facts },
      )
    }
  }
  if (findings.length === 0) {
    return outcome(
      'root_cause',
      'pass',
      'no_root_cause_found',
      `No data-quality, join-health, schema or volume alerts between ${iso(from)} and ${iso(to)}, and no deploy within ${human(rules.post_deploy_window)} before the change point.`,
      { evidence, facts: { findings: 0 } },
    )
  }
  findings.sort((a, b) => a.rank - b.rank)
  const listed = findings.slice(0, 5).map((f) => f.text)
  const more = findings.length > 5 ? ` and ${findings.length - 5} more` : ''
  return outcome(
    'root_cause',
    'investigate',
    findings[0]!.code,
    `The shift may come from flawed data or a pipeline change: ${listed.join('; ')}${more}. Retraining on flawed data would teach the model the flaw: investigate the root cause first.`,
    { evidence, facts: { findings: findings.length } },
  )
}
