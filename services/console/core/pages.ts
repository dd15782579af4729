import { wilsonInterval } from '../../shared/stats/intervals.ts'
import type { ReferenceProfile } from '../../shared/records/reference-profile.ts'
import { byAttention } from './attention.ts'
import { alertTimeline, heatmap, lineChart, type Mark, type Span } from './charts.ts'
import { driftCells, nullRateCells } from './drift-cells.ts'
import { duration, h, iso, num, page, pct, table, type Html } from './html.ts'
import type {
  AlertRow,
  ApprovalRow,
  DeadLetterCount,
  DecisionRow,
  EpisodeRow,
  FeaturePoint,
  InvestigationRow,
  ModelState,
  RequestRow,
  WindowPoint,
} from './rows.ts'

// The console's pages as HTML strings, from rows already read: no I/O here, the clock passed in.

const modelHref = (id: string): string => `/models/${encodeURIComponent(id)}`
const episodeHref = (model: string, episode: string): string => `${modelHref(model)}/episodes/${encodeURIComponent(episode)}`
const sev = (s: string): Html => h`<span class="sev-${s}">${s}</span>`

export function overviewPage(models: ModelState[], now: number): string {
  const rows = byAttention(models).map((m) => [
    h`<a href="${modelHref(m.model_id)}">${m.model_id}</a>`,
    m.task,
    m.firing > 0
      ? h`<span class="badge firing">${m.firing}${m.firing_critical ? ` (${m.firing_critical} critical)` : ''}</span>`
      : h`<span class="badge ok">0</span>`,
    m.open_episodes,
    pct(m.label_coverage),
    m.lag_ms === null ? '–' : duration(m.lag_ms),
    m.last_window === null ? 'no windows yet' : `${iso(m.last_window)} (${duration(Math.max(0, now - m.last_window))} ago)`,
  ])
  return page(
    'Models',
    h`<p class="muted">Sorted by what needs attention: critical alerts, firing alerts, open episodes, label coverage of the newest window, monitor lag (how long the newest stored prediction has waited for its windows to be recomputed).</p>
${table(['model', 'task', 'firing alerts', 'open episodes', 'label coverage', 'lag', 'last window'], rows, [false, false, true, true, true, true, false])}`,
  )
}

export interface ModelPageInput {
  modelId: string
  task: string
  windowSizeMs: number
  windowSizes: number[]
  windows: WindowPoint[]
  features: FeaturePoint[]
  featureOrder: string[]
  alerts: AlertRow[]
  episodes: (EpisodeRow & { decision: string | null })[]
  reference: ReferenceProfile | null
  events: { name: string; from: number; to: number }[]
}

/** Where the model version of consecutive windows changes: a deploy. */
export function deployMarks(windows: WindowPoint[]): Mark[] {
  const sorted = [...windows].sort((a, b) => a.window_start - b.window_start)
  return sorted
    .slice(1)
    .flatMap((w, i) =>
      w.model_version !== sorted[i]!.model_version ? [{ t: w.window_start, label: `deploy ${w.model_version}`, kind: 'deploy' as const }] : [],
    )
}

export function alertSpans(alerts: AlertRow[]): Span[] {
  return alerts.map((a) => ({
    from: a.first_seen,
    to: a.last_seen + a.window_size_ms,
    severity: a.severity,
    label: `${a.kind} ${a.subject} (${a.segment}, ${a.status}): ${a.summary}`,
  }))
}

export function modelPage(m: ModelPageInput): string {
  const w = [...m.windows].sort((a, b) => a.window_start - b.window_start)
  if (w.length === 0) return page(m.modelId, h`<p>No windows stored for this model and window size yet.</p>`)
  const domain: [number, number] = [w[0]!.window_start, w.at(-1)!.window_start + m.windowSizeMs]
  // Charts are of segment 'all': they are shaded by its alerts; every alert is in the timeline.
  const sized = m.alerts.filter((a) => a.window_size_ms === m.windowSizeMs)
  const spans = alertSpans(sized.filter((a) => a.segment === 'all'))
  const marks = [
    ...deployMarks(w),
    ...m.events.filter((e) => e.to >= domain[0] && e.from <= domain[1]).map((e) => ({ t: e.from, label: e.name, kind: 'event' as const })),
  ]
  const regression = m.task === 'regression'
  const labeled = w.filter((p) => (regression ? p.mae : p.accuracy) !== null && p.labeled_count > 0)
  const perf = lineChart({
    title: regression ? 'MAE (labeled)' : 'Accuracy: labeled with 95% interval, and estimated',
    domain,
    spans,
    marks,
    series: [
      {
        name: regression ? 'mae' : 'accuracy',
        color: '#1565c0',
        points: labeled.map((p) => {
          const v = regression ? p.mae! : p.accuracy!
          const ci = regression ? null : wilsonInterval(v * p.labeled_count, p.labeled_count)
          return {
            t: p.window_start,
            y: v,
            low: ci?.low,
            high: ci?.high,
            title: `${iso(p.window_start)}: ${num(v)} on ${p.labeled_count} labels (${pct(p.label_coverage)})`,
          }
        }),
      },
      ...(regression
        ? []
        : [
            {
              name: 'estimated',
              color: '#ef6c00',
              points: w.filter((p) => p.estimated_accuracy !== null).map((p) => ({ t: p.window_start, y: p.estimated_accuracy! })),
            },
          ]),
    ],
  })
  const volume = lineChart({
    title: 'Volume',
    domain,
    spans,
    marks,
    series: [{ name: 'volume', color: '#37474f', points: w.map((p) => ({ t: p.window_start, y: p.volume })) }],
  })
  const coverage = lineChart({
    title: 'Label coverage',
    domain,
    spans,
    marks,
    yDomain: [0, 1],
    height: 110,
    series: [
      {
        name: 'coverage',
        color: '#2e7d32',
        points: w.map((p) => ({ t: p.window_start, y: p.label_coverage, title: `${iso(p.window_start)}: ${pct(p.label_coverage)} of ${p.volume}` })),
      },
    ],
  })
  const valued = w.filter((p) => p.business_value !== null)
  const value =
    valued.length > 0
      ? lineChart({
          title: 'Business value',
          domain,
          spans,
          marks,
          height: 110,
          series: [{ name: 'value', color: '#6d4c41', points: valued.map((p) => ({ t: p.window_start, y: p.business_value! })) }],
        })
      : h``
  const features = m.featureOrder.filter((f) => m.features.some((r) => r.feature === f))
  const drift = m.reference
    ? heatmap({
        title: 'Drift per feature and window (PSI against the reference; 0.3 and above is darkest)',
        domain,
        windowMs: m.windowSizeMs,
        features,
        cells: driftCells(m.features, m.reference),
        max: 0.3,
        marks,
      })
    : h`<p class="muted">No reference profile configured: no drift heatmap (driftgate reference build).</p>`
  const nulls = heatmap({
    title: 'Data quality: null rate per feature and window (20% and above is darkest)',
    domain,
    windowMs: m.windowSizeMs,
    features,
    cells: nullRateCells(m.features),
    max: 0.2,
    marks,
  })
  const timeline = sized.length
    ? alertTimeline({
        title: 'Alerts (every segment; warning orange, critical red)',
        domain,
        marks,
        spans: sized.map((a) => ({ ...alertSpans([a])[0]!, lane: `${a.kind} ${a.subject}${a.segment === 'all' ? '' : ` ${a.segment}`}` })),
      })
    : h``
  const sizes = m.windowSizes.map((s) => (s === m.windowSizeMs ? h`<b>${duration(s)}</b> ` : h`<a href="?size=${s}">${duration(s)}</a> `))
  const alertRows = m.alerts.map((a) => [sev(a.severity), a.status, a.kind, a.subject, a.segment, iso(a.first_seen), iso(a.last_seen), a.summary])
  const episodeRows = m.episodes.map((e) => [
    h`<a href="${episodeHref(m.modelId, e.episode_id)}">${e.episode_id.slice(0, 12)}</a>`,
    e.status,
    iso(e.change_point),
    e.decision ?? '–',
    e.request_id ? 'yes' : '',
  ])
  return page(
    m.modelId,
    h`<p>${m.task}; window ${sizes}; ${w.length} windows from ${iso(domain[0])} to ${iso(domain[1])}. Alerts of segment all are shaded on the charts, deploys (purple) and known events (green) dashed.</p>
${timeline}${volume}${perf}${coverage}${value}${drift}${nulls}
<h2>Episodes</h2>${episodeRows.length ? table(['episode', 'status', 'change point', 'latest decision', 'retrain request'], episodeRows) : h`<p>None.</p>`}
<h2>Alerts</h2>${alertRows.length ? table(['severity', 'status', 'kind', 'subject', 'segment', 'first window', 'last window', 'summary'], alertRows) : h`<p>None.</p>`}`,
  )
}

export interface EpisodePageInput {
  episode: EpisodeRow
  decisions: DecisionRow[]
  request: RequestRow | null
  approvals: ApprovalRow[]
  investigations: InvestigationRow[]
  flash?: { ok: boolean; text: string }
}

interface EpisodeAlert {
  alert_id?: string
  kind?: string
  subject?: string
  severity?: string
  status?: string
  segment?: string
  first_seen?: number
  last_seen?: number
  summary?: string
}

function episodeAlerts(json: string): EpisodeAlert[] {
  try {
    const value = JSON.parse(json) as unknown
    const list = Array.isArray(value) ? value : value && typeof value === 'object' ? Object.values(value) : []
    return list.filter((a): a is EpisodeAlert => !!a && typeof a === 'object')
  } catch {
    return []
  }
}

function decisionBlock(model: string, episode: string, d: DecisionRow, latestPending: boolean): Html {
  const path = d.reason_gates.map((g, i) => [
    g,
    h`<span class="badge">${d.reason_verdicts[i] ?? ''}</span>`,
    d.reason_codes[i] ?? '',
    d.reason_messages[i] ?? '',
  ])
  let facts = d.context_json
  try {
    facts = JSON.stringify(JSON.parse(d.context_json), null, 2)
  } catch {
    // Shown as stored.
  }
  const base = `${episodeHref(model, episode)}/decisions/${encodeURIComponent(d.decision_id)}`
  const actions = latestPending
    ? h`<div class="actions">${(['approve', 'reject'] as const).map(
        (action) => h`<form class="act" method="post" action="${base}/${action}">
<input type="password" name="token" placeholder="approver token" required autocomplete="off">
<input type="text" name="comment" placeholder="comment">
<button type="submit" name="action" value="${action}">${action === 'approve' ? 'Approve retrain' : 'Reject'}</button></form>`,
      )}</div>`
    : h``
  return h`<section class="decision" data-decision="${d.decision_id}">
<h3>${iso(d.decided_at)}: <span class="badge">${d.decision}</span>${d.awaiting_approval ? ' awaiting approval' : ''}${d.deciding_gate ? ` at ${d.deciding_gate} (${d.deciding_code})` : ''}</h3>
<p>${d.explanation}</p>
<p class="muted">Trigger ${d.trigger_alert_id} ${d.trigger_status}; policy ${d.policy_version}; decision ${d.decision_id.slice(0, 16)}</p>
${table(['gate', 'verdict', 'code', 'reason'], path)}
<details><summary>Facts the gates saw</summary><pre>${facts}</pre></details>${actions}</section>`
}

export function episodePage(p: EpisodePageInput): string {
  const e = p.episode
  const alerts = episodeAlerts(e.alerts_json).map((a) => [
    sev(a.severity ?? ''),
    a.status ?? '',
    a.kind ?? '',
    a.subject ?? '',
    a.segment ?? '',
    iso(a.first_seen),
    iso(a.last_seen),
    a.summary ?? '',
  ])
  const sorted = [...p.decisions].sort((a, b) => a.decided_at - b.decided_at)
  // A decision stays awaiting_approval in its row; an accepted approve or reject, or a request,
  // is what settles it.
  const settled = new Set(p.approvals.filter((a) => a.result === 'ok').map((a) => a.decision_id))
  const pendingId = p.request ? undefined : [...sorted].reverse().find((d) => d.awaiting_approval && !settled.has(d.decision_id))?.decision_id
  const latest = sorted.at(-1)
  const r = p.request
  const request = r
    ? h`<table class="request"><tbody>
<tr><th>request</th><td>${r.request_id}</td></tr><tr><th>status</th><td>${r.status}</td></tr>
<tr><th>requested</th><td>${iso(r.requested_at)}</td></tr><tr><th>training data</th><td>${iso(r.training_data_from)} – ${iso(r.training_data_to)}</td></tr>
<tr><th>cost</th><td>${num(r.cost, 2)}</td></tr><tr><th>approved by</th><td>${r.approved_by || 'no approval needed'}</td></tr>
<tr><th>why</th><td>${r.explanation}</td></tr></tbody></table>`
    : h`<p>No retrain request for this episode.</p>`
  const audit = p.approvals.map((a) => [iso(a.at), a.action, a.result, a.actor, a.comment, a.decision_id.slice(0, 16)])
  return page(
    `Episode ${e.episode_id.slice(0, 12)}`,
    h`${p.flash ? h`<div class="flash${p.flash.ok ? ' ok' : ''}">${p.flash.text}</div>` : h``}
<p><a href="${modelHref(e.model_id)}">${e.model_id}</a> ${e.model_version}; <span class="badge">${e.status}</span>; change point ${iso(e.change_point)}; opened ${iso(e.opened_at)}; latest decision: ${latest?.decision ?? 'none'}</p>
<h2>Alerts</h2>${table(['severity', 'status', 'kind', 'subject', 'segment', 'first window', 'last window', 'summary'], alerts)}
<h2>Retrain request</h2>${request}
<h2>Decisions (${sorted.length})</h2>${sorted.map((d) => decisionBlock(e.model_id, e.episode_id, d, d.decision_id === pendingId && d === latest))}
<h2>Investigation</h2>${investigation(e, p.investigations)}
<h2>Approval audit</h2>${audit.length ? table(['at', 'action', 'result', 'actor', 'comment', 'decision'], audit) : h`<p>No approval actions.</p>`}`,
  )
}

/** What investigations found, and the form that records an outcome through the policy API. */
function investigation(e: EpisodeRow, rows: InvestigationRow[]): Html {
  const found = rows.length
    ? table(
        ['at', 'outcome', 'fixed at', 'by', 'comment'],
        rows.map((r) => [iso(r.at), r.outcome, r.fixed_at ? iso(r.fixed_at) : '', r.actor, r.comment]),
      )
    : h`<p>No outcome recorded.</p>`
  const action = `${episodeHref(e.model_id, e.episode_id)}/investigation`
  return h`${found}<form class="act investigation" method="post" action="${action}">
<select name="outcome" required><option value="real_change">real change</option><option value="false_alarm">false alarm</option><option value="pipeline_bug">pipeline bug</option></select>
<input type="text" name="fixed_at" placeholder="pipeline bug fixed at (ISO-8601 with zone)">
<input type="password" name="token" placeholder="approver token" required autocomplete="off">
<input type="text" name="comment" placeholder="what was found">
<button type="submit">Record outcome</button></form>`
}

export function deadLettersPage(counts: DeadLetterCount[], o: { topic: string; read: number; complete: boolean }): string {
  const sorted = [...counts].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code) || a.model.localeCompare(b.model))
  const byCode = new Map<string, number>()
  for (const c of counts) byCode.set(c.code, (byCode.get(c.code) ?? 0) + c.count)
  return page(
    'Dead letters',
    h`<p>${o.read} records read from ${o.topic}${o.complete ? '' : ' (not to its end in time: newer records may be missing)'}; the records themselves: <code>driftgate dead-letters --code … --model …</code>.</p>
<h2>By code</h2>${table(
      ['code', 'records'],
      [...byCode].sort((a, b) => b[1] - a[1]).map(([code, n]) => [code, n]),
      [false, true],
    )}
<h2>By code and model</h2>${table(
      ['code', 'model', 'records', 'newest'],
      sorted.map((c) => [c.code, c.model, c.count, iso(c.newest)]),
      [false, false, true, false],
    )}`,
  )
}

/** A page that only says something: not found, refused, failed. */
export function messagePage(what: string, title = 'Not found'): string {
  return page(title, h`<p>${what}</p>`)
}
