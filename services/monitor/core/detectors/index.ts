// The detectors' public API: pure functions from window metrics to findings, the alert episode
// fold, and the trigger built from a transition. No I/O here.
export { parseDetectorConfig, hygieneFor, performanceMetricFor, type DetectorConfig, type HygieneRule, type MuteWindow } from './detector-config.ts'
export type { DetectorInput, DetectorResult, Finding, JoinHealth, NotJudged, Skip, WindowSnapshot } from './finding.ts'
export { evaluateWindow, type WindowEvaluationResult } from './evaluate-window.ts'
export { detectDrift } from './drift.detector.ts'
export { detectPerformance } from './performance.detector.ts'
export { detectDataQuality } from './data-quality.detector.ts'
export { detectAnomalies } from './anomaly.detector.ts'
export { detectJoinHealth, type JoinHealthResult } from './join-health.detector.ts'
export {
  foldEpisodes,
  resume,
  initialEpisodeState,
  exportEpisodeState,
  importEpisodeState,
  sequenceFor,
  identityOf,
  encodeEvaluation,
  decodeEvaluation,
  combineVersions,
  type EpisodeState,
  type EpisodeTransition,
  type EpisodeWindow,
  type WindowEvaluation,
  type StoredEvaluation,
} from './alert-episodes.ts'
export { alertId, identityKey, type AlertIdentity } from './alert-id.ts'
export { buildTrigger, triggerSummary, withdrawnTrigger } from './alert-text.ts'
