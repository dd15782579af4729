import { calibrationCells, calibrationModel, FEATURE_KINDS, type CellRate } from '../support/drift-calibration.ts'
import { DAY, WEEK, runAnomalySeries } from '../support/anomaly-calibration.ts'

// `npm run bench -- --phases=calibration`: false-alarm and detection rates of the drift detector
// per feature kind and window size, by simulation through the detector exactly as the monitor
// runs it (test/support/drift-calibration.ts). Pure computation: no Kafka or ClickHouse needed.

export interface CalibrationResults {
  reference_rows: number
  stationary: CellRate[]
  shifted: CellRate[]
  /** Windows in which any feature of the 8-feature model was flagged, and drift alerts fired, per size. */
  model_windows_flagged: ModelRate[]
  /** The same for 24 features (three independent copies of the 8). */
  wide_model_windows_flagged: ModelRate[]
  /** Hourly seasonal series judged against 28 days of history, per mean volume per window. */
  anomalies: { per_window: number; windows: number; flagged: number; by_subject: Record<string, number> }[]
  /** A 3-day 5x volume spike: windows of the spike with a volume anomaly, and windows after it with any anomaly. */
  spike: { per_window: number; during: number; during_flagged: number; after: number; after_flagged: number }[]
  seconds: number
}

const SIZES = [200, 1_000, 10_000, 100_000]

interface ModelRate {
  n: number
  windows: number
  features: number
  flagged: number
  fired: number
}

/** The default alert hygiene on a model's flagged windows: a drift alert fires when 2 of the last
 *  3 windows have a finding (a window that does so while an alert is open counts again). */
function hygiene(flagged: Set<number>): { flagged: number; fired: number } {
  let fired = 0
  for (const w of flagged) if (flagged.has(w - 1) || flagged.has(w - 2)) fired++
  return { flagged: flagged.size, fired }
}

/** Stationary windows per size (enough for 0.1 % to be more than one window where it is affordable). */
const stationaryWindows = (n: number, quick: boolean): number => {
  const full = n <= 200 ? 5_000 : n <= 1_000 ? 2_000 : n <= 10_000 ? 1_000 : 200
  return quick ? Math.max(20, Math.round(full / 20)) : full
}
const shiftedWindows = (n: number, quick: boolean): number => (quick ? 20 : n >= 100_000 ? 100 : 200)

export function runCalibration(quick: boolean, log: (line: string) => void = console.log): CalibrationResults {
  const started = performance.now()
  const cal = calibrationModel(50_000, 1)
  const stationary: CellRate[] = []
  const shifted: CellRate[] = []
  const model: CalibrationResults['model_windows_flagged'] = []
  const wideModel: CalibrationResults['model_windows_flagged'] = []
  SIZES.forEach((n, i) => {
    const windows = stationaryWindows(n, quick)
    const flaggedWindows = new Set<number>()
    const cells = calibrationCells(cal, n, windows, 1_000 + i, {}, (w) => flaggedWindows.add(w))
    stationary.push(...cells)
    model.push({ n, windows, features: FEATURE_KINDS.length, ...hygiene(flaggedWindows) })
    // A 24-feature model: two more independent copies of the 8 features on the same windows.
    const wide = new Set(flaggedWindows)
    for (const copy of [1, 2]) calibrationCells(cal, n, windows, 1_000 + i + 100 * copy, {}, (w) => wide.add(w))
    wideModel.push({ n, windows, features: 3 * FEATURE_KINDS.length, ...hygiene(wide) })
    shifted.push(...calibrationCells(cal, n, shiftedWindows(n, quick), 2_000 + i, { meanShift: 0.25, mix: 0.1 }))
    log(`calibration: ${n} predictions per window done (${Math.round((performance.now() - started) / 1000)} s)`)
  })
  const anomalies: CalibrationResults['anomalies'] = []
  const spike: CalibrationResults['spike'] = []
  for (const [i, perWindow] of [200, 1_000, 10_000].entries()) {
    const { judged } = runAnomalySeries({ seed: 3_000 + i, perWindow, weeks: quick ? 5 : 8 })
    const bySubject: Record<string, number> = {}
    for (const j of judged) for (const f of j.findings) bySubject[f.subject] = (bySubject[f.subject] ?? 0) + 1
    anomalies.push({ per_window: perWindow, windows: judged.length, flagged: judged.filter((j) => j.findings.length).length, by_subject: bySubject })
    const from = 4 * WEEK + DAY
    const to = from + 3 * DAY
    const run = runAnomalySeries({ seed: 4_000 + i, perWindow, weeks: 6, factor: (t) => (t >= from && t < to ? 5 : 1) })
    const during = run.judged.filter((j) => j.start >= from && j.start < to)
    const after = run.judged.filter((j) => j.start >= to)
    spike.push({
      per_window: perWindow,
      during: during.length,
      during_flagged: during.filter((j) => j.findings.some((f) => f.subject === 'volume')).length,
      after: after.length,
      after_flagged: after.filter((j) => j.findings.length).length,
    })
    log(`calibration: anomalies at ${perWindow} predictions per window done (${Math.round((performance.now() - started) / 1000)} s)`)
  }
  return {
    reference_rows: 50_000,
    stationary,
    shifted,
    model_windows_flagged: model,
    wide_model_windows_flagged: wideModel,
    anomalies,
    spike,
    seconds: Math.round((performance.now() - started) / 1000),
  }
}

const pct = (c: { flagged: number; windows: number }): string => {
  const r = (100 * c.flagged) / c.windows
  return `${r === 0 ? '0' : r < 1 ? r.toFixed(2) : r.toFixed(1)}% (${c.flagged}/${c.windows})`
}

export function calibrationMarkdown(r: CalibrationResults): string {
  const sizes = [...new Set(r.stationary.map((c) => c.n))]
  const head = `| feature kind | ${sizes.map((n) => `n=${n.toLocaleString('en-US')}`).join(' | ')} |\n| --- | ${sizes.map(() => '---').join(' | ')} |`
  const rows = (cells: CellRate[]): string =>
    FEATURE_KINDS.map((k) => `| ${k} | ${sizes.map((n) => pct(cells.find((c) => c.kind === k && c.n === n)!)).join(' | ')} |`).join('\n')
  return [
    `Drift calibration (reference ${r.reference_rows.toLocaleString('en-US')} rows, default detector config, ${r.seconds} s)`,
    '',
    'Stationary windows flagged (false alarms), per feature:',
    head,
    rows(r.stationary),
    `| any of the 8 features | ${sizes.map((n) => pct(r.model_windows_flagged.find((m) => m.n === n)!)).join(' | ')} |`,
    `| drift alert fired (2 of 3 windows) | ${sizes
      .map((n) => {
        const m = r.model_windows_flagged.find((x) => x.n === n)!
        return pct({ flagged: m.fired, windows: m.windows })
      })
      .join(' | ')} |`,
    `| any of 24 features (3 x 8) | ${sizes.map((n) => pct(r.wide_model_windows_flagged.find((m) => m.n === n)!)).join(' | ')} |`,
    `| 24 features: drift alert fired | ${sizes
      .map((n) => {
        const m = r.wide_model_windows_flagged.find((x) => x.n === n)!
        return pct({ flagged: m.fired, windows: m.windows })
      })
      .join(' | ')} |`,
    '',
    'Windows flagged with the mean moved by 0.25 reference sd (numeric) or 10 points of mix moved (categorical):',
    head,
    rows(r.shifted),
    '',
    'Anomalies, hourly seasonal series (volume, 3 null rates, mean score, accuracy) judged against the 28 days before:',
    '| predictions per window | stationary windows with any anomaly | 3-day 5x spike: windows alerting on volume | windows after the spike with any anomaly |',
    '| --- | --- | --- | --- |',
    ...r.anomalies.map((a, i) => {
      const s = r.spike[i]!
      return `| ${a.per_window.toLocaleString('en-US')} | ${pct(a)} | ${pct({ flagged: s.during_flagged, windows: s.during })} | ${pct({ flagged: s.after_flagged, windows: s.after })} |`
    }),
  ].join('\n')
}
