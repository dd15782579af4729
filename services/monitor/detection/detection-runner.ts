import { yieldToEventLoop } from '../../shared/async/yield-to-event-loop.ts'
import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import { lit } from '../../shared/clickhouse/sql.ts'
import type { MonitorTrigger } from '../../shared/events/types.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import {
  combineVersions,
  decodeEvaluation,
  encodeEvaluation,
  foldEpisodes,
  identityOf,
  initialEpisodeState,
  sequenceFor,
  type StoredEvaluation,
  type WindowEvaluation,
} from '../detectors/alert-episodes.ts'
import { identityKey, type AlertIdentity } from '../detectors/alert-id.ts'
import { buildTrigger, withdrawnTrigger } from '../detectors/alert-text.ts'
import { hygieneFor } from '../detectors/detector-config.ts'
import { evaluateWindow } from '../detectors/evaluate-window.ts'
import type { RuntimeModel } from '../runtime-models.ts'
import type { ComputedWindows } from '../windows/window-store.ts'
import { AlertPublisher } from './alert-publisher.ts'
import { historyBefore, loadSeriesHistory } from './window-history.ts'

const DAY = 86_400_000

/**
 * When the version was deployed: its first window, but only if an older version ran before it.
 * The first version ever seen is where the data starts, not a deploy to check for skew.
 */
function deployStart(versionStarts: Map<string, number>, version: string): number | null {
  const first = versionStarts.get(version)
  if (first === undefined) return null
  return [...versionStarts.values()].some((start) => start < first) ? first : null
}

export interface DetectionDeps {
  ch: ClickHouse
  publisher: AlertPublisher
  logger: Logger
  /** How far back episodes are folded from (an episode older than this cannot be extended). */
  episodeLookbackMs?: number
}

/**
 * Runs the detectors on every closed window the monitor recomputed, stores each window's
 * findings (and what could not be judged), re-derives the alert episodes of the touched series
 * by folding their stored evaluations in window order, and publishes what differs from the
 * published alert state, including the resolution of published firing alerts the fold no longer
 * finds (withdrawn). Everything is derived from stored data, so a replay, a restart or a second
 * instance arrives at the same alerts (same ids), and windows evaluated out of order (late
 * labels) are fine.
 */
export class DetectionRunner {
  constructor(private readonly deps: DetectionDeps) {}

  /** `dataTime`: the newest record time stored when the computation began (the triggers' data_time). */
  async onWindowsComputed(model: RuntimeModel, computed: ComputedWindows, dataTime = 0): Promise<void> {
    const closed = computed.summaries.filter((s) => s.closed && s.volume > 0)
    if (closed.length === 0) return
    const { ch } = this.deps
    const modelId = model.config.model_id
    const sizeMs = closed[0]!.key.window_size_ms
    const starts = closed.map((s) => s.key.window_start)
    const history = await loadSeriesHistory(ch, modelId, sizeMs, Math.min(...starts), Math.max(...starts), Math.min(...model.config.windows))

    const evaluationRows = []
    for (const summary of closed) {
      // One window's detectors take milliseconds; many closed at once took over a second.
      await yieldToEventLoop()
      const key = summary.key
      const current = { summary, features: computed.features.filter((f) => f.key.window_start === key.window_start && f.key.segment === key.segment && f.key.model_version === key.model_version) }
      const result = evaluateWindow({
        model: model.config,
        config: model.detectors,
        reference: model.reference,
        current,
        history: historyBefore(history, key.segment, key.window_start),
        version_first_window_start: deployStart(history.versionStarts, key.model_version),
        join_health: history.joinHealth.get(key.window_start) ?? null,
        join_history: [...history.joinHealth.values()].filter((j) => j.window_start < key.window_start).sort((a, b) => a.window_start - b.window_start),
      })
      if (result.suppressed) this.deps.logger.info({ event: 'performance_suppressed', model_id: modelId, window_start: key.window_start, reason: result.suppressed.reason }, 'label-based findings suppressed by join health')
      evaluationRows.push({ ...key, findings_json: encodeEvaluation({ findings: result.findings, not_judged: result.not_judged }), data_version: computed.versions.get(key.window_start) ?? '0', evaluated_at: Date.now() })
    }
    await ch.insert('window_evaluations', evaluationRows)
    await this.publishEpisodes(model, sizeMs, [...new Set(closed.map((s) => s.key.segment))], Math.max(...starts), dataTime)
  }

  private async publishEpisodes(model: RuntimeModel, sizeMs: number, segments: string[], latest: number, dataTime: number): Promise<void> {
    const { ch, publisher } = this.deps
    const modelId = model.config.model_id
    const from = latest - (this.deps.episodeLookbackMs ?? 90 * DAY)
    // The published state is read before the evaluations: an alert published by another instance
    // was stored after its evaluations, so every alert read here has its windows in what is read
    // next, and none is taken for withdrawn because its evaluations were not visible yet.
    const published = await publisher.published(modelId, sizeMs)
    const rows = await ch.query<{ segment: string; window_start: number; findings_json: string }>(
      `SELECT segment, window_start, findings_json FROM ${ch.table('window_evaluations')} FINAL
       WHERE model_id = ${lit(modelId)} AND window_size_ms = ${sizeMs} AND segment IN (${segments.map(lit).join(', ')})
         AND window_start >= ${from}
       ORDER BY window_start`,
    )
    // One evaluation per window and segment: all model versions' findings together, and as not
    // judged what no version could judge.
    const bySegment = new Map<string, Map<number, StoredEvaluation[]>>()
    for (const r of rows) {
      const windows = bySegment.get(r.segment) ?? new Map<number, StoredEvaluation[]>()
      windows.set(r.window_start, [...(windows.get(r.window_start) ?? []), decodeEvaluation(r.findings_json)])
      bySegment.set(r.segment, windows)
    }
    const changed: MonitorTrigger[] = []
    const withdrawn: string[] = []
    for (const [segment, windows] of bySegment) {
      const evaluations: WindowEvaluation[] = [...windows].map(([windowStart, stored]) => combineVersions(windowStart, stored)).sort((a, b) => a.window_start - b.window_start)
      const identities = new Map<string, AlertIdentity>()
      for (const e of evaluations) for (const f of e.findings) identities.set(identityKey(identityOf(f)), identityOf(f))
      /** The current state of every alert the fold derives in this segment. */
      const derived = new Map<string, MonitorTrigger>()
      for (const identity of identities.values()) {
        const { transitions } = foldEpisodes(initialEpisodeState(identity), sequenceFor(identity, evaluations), hygieneFor(model.detectors, identity.kind))
        // The latest transition of each episode is its current state. An episode never published
        // yet is announced with its first (firing) transition as well, so that one that fired and
        // resolved between two evaluations still fires once and resolves once.
        const byAlert = new Map<string, typeof transitions>()
        for (const t of transitions) byAlert.set(t.alert_id, [...(byAlert.get(t.alert_id) ?? []), t])
        for (const [alertId, episode] of byAlert) {
          const latest = buildTrigger(episode[episode.length - 1]!)
          const known = published.get(alertId)
          derived.set(alertId, latest)
          // A state older than the published one (re-evaluation took its latest findings away)
          // cannot replace it: sending it would repeat on every evaluation. A firing alert left
          // that way without an open episode is withdrawn below.
          if (known && AlertPublisher.outranks(known, latest)) continue
          if (!known && episode.length > 1) changed.push(buildTrigger(episode[0]!))
          if (AlertPublisher.differs(latest, known)) changed.push(latest)
        }
      }
      // Published firing alerts of this segment that the fold no longer has open, and does not
      // resolve itself: re-evaluated windows no longer give their episode. Alerts that started
      // before the folded range are left alone (their episode cannot be re-derived from it).
      for (const known of published.values()) {
        if (known.segment !== segment || known.status !== 'firing' || known.first_seen < from) continue
        const now = derived.get(known.alert_id)
        if (now && (now.status === 'firing' || !AlertPublisher.outranks(known, now))) continue
        withdrawn.push(known.alert_id)
      }
    }
    for (const t of await publisher.publishedTriggers(modelId, withdrawn)) {
      if (t.status !== 'firing') continue
      const resolution = withdrawnTrigger(t)
      if (AlertPublisher.differs(resolution, published.get(t.alert_id))) changed.push(resolution)
    }
    await publisher.publish(changed.map((t) => ({ ...t, data_time: dataTime })))
  }
}
