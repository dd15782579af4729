import { yieldToEventLoop } from '../../shared/async/yield-to-event-loop.ts'
import type { ClickHouse } from '../../shared/clickhouse/client.ts'
import type { Logger } from '../../shared/logging/logger.ts'
import { encodeEvaluation } from '../core/alerts/alert-episodes.ts'
import { hygieneFor } from '../core/detectors/detector-config.ts'
import { evaluateWindow } from '../core/detectors/evaluate-window.ts'
import type { EvidenceQueries } from '../core/detectors/finding.ts'
import type { RuntimeModel } from '../core/runtime-model.ts'
import type { ComputedWindows } from '../store/window-store.ts'
import type { AlertPublisher } from './alert-publisher.ts'
import { reconcileAlerts, withdrawals } from '../core/alerts/alert-reconciliation.ts'
import { publishedAlerts, publishedTriggers } from '../store/alerts.ts'
import { evidenceQueries } from '../store/evidence-sql.ts'
import { evaluationsSince } from '../store/window-evaluations.ts'
import { absentSegments } from '../core/windows/absent-segments.ts'
import { historyBefore, loadSeriesHistory, type SeriesHistory } from '../store/window-history.ts'
import type { FeatureWindowStats, WindowSummary } from '../../shared/records/window-metrics.ts'

const DAY = 86_400_000
/** How far back a segment counts as one the model sends (absent-segments.ts). */
const ABSENT_LOOKBACK_MS = 7 * DAY

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
  private readonly evidence: EvidenceQueries

  constructor(private readonly deps: DetectionDeps) {
    this.evidence = evidenceQueries(deps.ch.database)
  }

  /** `dataTime`: the newest record time stored when the computation began (the triggers' data_time). */
  async onWindowsComputed(model: RuntimeModel, computed: ComputedWindows, dataTime = 0): Promise<void> {
    // Closed windows, empty ones included: a model that stopped sending is judged at volume 0.
    const closed = computed.summaries.filter((s) => s.closed)
    if (closed.length === 0) return
    const sizeMs = closed[0]!.key.window_size_ms
    const starts = closed.map((s) => s.key.window_start)
    const history = await this.historyOf(model, sizeMs, starts)
    await this.judge(model, closed, computed.features, computed.versions, history, dataTime)
  }

  /**
   * Judges stored closed windows again from their stored numbers (their join health changed):
   * nothing is recomputed. A window whose rows changed meanwhile is marked by those rows and judged
   * again when it is computed.
   */
  async rejudge(model: RuntimeModel, sizeMs: number, starts: number[], dataTime = 0): Promise<void> {
    if (starts.length === 0) return
    const history = await this.historyOf(model, sizeMs, starts)
    const wanted = new Set(starts)
    const stored = [...history.snapshots.entries()]
      .filter(
        ([key, s]) =>
          wanted.has(s.summary.key.window_start) &&
          s.summary.closed &&
          history.snapshotVersions.get(key) === history.dataVersions.get(s.summary.key.window_start),
      )
      .map(([, s]) => s)
    if (stored.length === 0) return
    await this.judge(
      model,
      stored.map((s) => s.summary),
      stored.flatMap((s) => s.features),
      history.dataVersions,
      history,
      dataTime,
    )
  }

  /** The stored series the windows are judged against, through the latest of them. */
  private historyOf(model: RuntimeModel, sizeMs: number, starts: number[]): Promise<SeriesHistory> {
    return loadSeriesHistory(this.deps.ch, model.config.model_id, sizeMs, Math.min(...starts), Math.max(...starts), Math.min(...model.config.windows))
  }

  /** Evaluates closed windows, stores the evaluations and publishes the episodes they change. */
  private async judge(
    model: RuntimeModel,
    closed: WindowSummary[],
    features: FeatureWindowStats[],
    versions: Map<number, string>,
    history: SeriesHistory,
    dataTime: number,
  ): Promise<void> {
    const { ch } = this.deps
    const modelId = model.config.model_id
    const sizeMs = closed[0]!.key.window_size_ms
    const starts = closed.map((s) => s.key.window_start)
    // Segments that had traffic in the week before and none in a closed window are judged at 0.
    const seen = [...history.snapshots.values()]
      .map((s) => s.summary)
      .filter((s) => s.volume > 0 && s.key.window_start >= Math.min(...starts) - ABSENT_LOOKBACK_MS)
    const judged = [
      ...closed,
      ...absentSegments(
        closed,
        seen.map((s) => s.key),
      ),
    ]

    const evaluationRows = []
    for (const summary of judged) {
      // One window's detectors take milliseconds; many closed at once took over a second.
      await yieldToEventLoop()
      const key = summary.key
      const current = {
        summary,
        features: features.filter((f) => f.key.window_start === key.window_start && f.key.segment === key.segment && f.key.model_version === key.model_version),
      }
      const result = evaluateWindow({
        model: model.config,
        evidence: this.evidence,
        config: model.detectors,
        reference: model.reference,
        current,
        history: historyBefore(history, key.segment, key.window_start),
        version_first_window_start: deployStart(history.versionStarts, key.model_version),
        join_health: history.joinHealth.get(key.window_start) ?? null,
        join_history: [...history.joinHealth.values()].filter((j) => j.window_start < key.window_start).sort((a, b) => a.window_start - b.window_start),
      })
      if (result.suppressed)
        this.deps.logger.info(
          { event: 'performance_suppressed', model_id: modelId, window_start: key.window_start, reason: result.suppressed.reason },
          'label-based findings suppressed by join health',
        )
      evaluationRows.push({
        ...key,
        findings_json: encodeEvaluation({ findings: result.findings, not_judged: result.not_judged }),
        data_version: versions.get(key.window_start) ?? '0',
        evaluated_at: Date.now(),
      })
    }
    await ch.insert('window_evaluations', evaluationRows)
    await this.publishEpisodes(model, sizeMs, [...new Set(judged.map((s) => s.key.segment))], Math.max(...starts), dataTime)
  }

  private async publishEpisodes(model: RuntimeModel, sizeMs: number, segments: string[], latest: number, dataTime: number): Promise<void> {
    const { ch, publisher } = this.deps
    const modelId = model.config.model_id
    const from = latest - (this.deps.episodeLookbackMs ?? 90 * DAY)
    // The published state is read before the evaluations: an alert published by another instance
    // was stored after its evaluations, so every alert read here has its windows in what is read
    // next, and none is taken for withdrawn because its evaluations were not visible yet.
    const published = await publishedAlerts(ch, modelId, sizeMs)
    const rows = await evaluationsSince(ch, modelId, sizeMs, segments, from)
    const { changed, withdrawn } = reconcileAlerts(rows, published, (kind) => hygieneFor(model.detectors, kind), from)
    changed.push(...withdrawals(await publishedTriggers(ch, modelId, withdrawn), published))
    await publisher.publish(changed.map((t) => ({ ...t, data_time: dataTime })))
  }
}
