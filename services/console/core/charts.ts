import { esc, h, iso, raw, type Html } from './html.ts'

// Charts drawn as inline SVG on the server: no script and nothing fetched by the browser. Every
// data point is one element with a class and data attributes, so a test (or a person with the
// inspector) can count what was drawn against the rows behind it.

export interface Point {
  t: number
  y: number
  /** Confidence interval, drawn as a vertical bar. */
  low?: number
  high?: number
  title?: string
}

export interface Series {
  name: string
  color: string
  points: Point[]
}

export interface Span {
  from: number
  to: number
  label: string
  severity: string
}

export interface Mark {
  t: number
  label: string
  kind: 'deploy' | 'event'
}

const W = 960
const LEFT = 56
const RIGHT = 12

const xScale = (domain: [number, number]) => {
  const span = Math.max(1, domain[1] - domain[0])
  return (t: number): number => LEFT + ((t - domain[0]) / span) * (W - LEFT - RIGHT)
}

const f = (v: number): string => v.toFixed(1)
const SPAN_COLORS: Record<string, string> = { critical: '#ef9a9a', warning: '#ffcc80', info: '#90caf9' }

function timeAxis(domain: [number, number], x: (t: number) => number, y: number): string {
  const ticks = 6
  let out = `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}" stroke="#999"/>`
  for (let i = 0; i <= ticks; i++) {
    const t = domain[0] + ((domain[1] - domain[0]) * i) / ticks
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle'
    // Dates alone repeat on a span of a few days: then month, day and hour.
    const text = domain[1] - domain[0] > 5 * 86_400_000 ? iso(t).slice(0, 10) : iso(t).slice(5, 16)
    out += `<text x="${f(x(t))}" y="${y + 12}" text-anchor="${anchor}">${esc(text)}</text>`
  }
  return out
}

/** Alert spans and marks behind a plot area from `top` to `bottom`. */
function backdrop(spans: Span[], marks: Mark[], x: (t: number) => number, top: number, bottom: number): string {
  let out = ''
  for (const s of spans) {
    const x0 = x(s.from)
    const width = Math.max(2, x(s.to) - x0)
    out += `<rect class="alert-span" data-severity="${esc(s.severity)}" x="${f(x0)}" y="${top}" width="${f(width)}" height="${bottom - top}" fill="${SPAN_COLORS[s.severity] ?? '#ddd'}" fill-opacity="0.35"><title>${esc(s.label)}</title></rect>`
  }
  for (const m of marks) {
    const color = m.kind === 'deploy' ? '#6a1b9a' : '#2e7d32'
    out += `<line class="mark" data-kind="${m.kind}" x1="${f(x(m.t))}" x2="${f(x(m.t))}" y1="${top}" y2="${bottom}" stroke="${color}" stroke-dasharray="3,3"><title>${esc(m.label)}</title></line>`
  }
  return out
}

/** A time series chart: one polyline and one circle per point of each series, intervals as bars. */
export function lineChart(o: {
  title: string
  domain: [number, number]
  series: Series[]
  spans?: Span[]
  marks?: Mark[]
  yDomain?: [number, number]
  height?: number
}): Html {
  const height = o.height ?? 150
  const top = 8
  const bottom = height - 20
  const x = xScale(o.domain)
  const values = o.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.low ?? p.y, p.high ?? p.y])).filter(Number.isFinite)
  let [lo, hi] = o.yDomain ?? [Math.min(0, ...values), Math.max(...values, 1e-9)]
  if (!o.yDomain && values.length > 0 && Math.min(...values) > 0 && Math.min(...values) > 0.5 * hi) lo = Math.min(...values) * 0.95
  if (hi <= lo) hi = lo + 1
  const y = (v: number): number => bottom - ((v - lo) / (hi - lo)) * (bottom - top)
  let body = backdrop(o.spans ?? [], o.marks ?? [], x, top, bottom)
  body += `<line x1="${LEFT}" x2="${LEFT}" y1="${top}" y2="${bottom}" stroke="#999"/>`
  body += `<text x="${LEFT - 4}" y="${top + 8}" text-anchor="end">${esc(label(hi))}</text><text x="${LEFT - 4}" y="${bottom}" text-anchor="end">${esc(label(lo))}</text>`
  body += timeAxis(o.domain, x, bottom)
  for (const s of o.series) {
    const pts = [...s.points].sort((a, b) => a.t - b.t)
    if (pts.length > 1)
      body += `<polyline fill="none" stroke="${s.color}" stroke-width="1.2" points="${pts.map((p) => `${f(x(p.t))},${f(y(p.y))}`).join(' ')}"/>`
    for (const p of pts) {
      if (p.low !== undefined && p.high !== undefined)
        body += `<line class="ci" data-series="${esc(s.name)}" x1="${f(x(p.t))}" x2="${f(x(p.t))}" y1="${f(y(p.low))}" y2="${f(y(p.high))}" stroke="${s.color}" stroke-opacity="0.5"/>`
      body += `<circle class="pt" data-series="${esc(s.name)}" data-t="${p.t}" cx="${f(x(p.t))}" cy="${f(y(p.y))}" r="2.2" fill="${s.color}"><title>${esc(p.title ?? `${s.name} ${iso(p.t)}: ${label(p.y)}`)}</title></circle>`
    }
  }
  const legend = o.series.map((s) => h`<span style="color:${s.color}">● ${s.name}</span> `)
  return h`<div class="chart" data-chart="${o.title}"><div class="chart-title">${o.title} ${legend}</div><svg width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="img" aria-label="${o.title}">${raw(body)}</svg></div>`
}

function label(v: number): string {
  const a = Math.abs(v)
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)}k`
  if (a >= 100) return v.toFixed(0)
  return Number(v.toPrecision(3)).toString()
}

export interface HeatCell {
  feature: string
  t: number
  value: number | null
  title: string
}

/** Feature-by-window grid on the same time axis as the charts; colour by value against `max`. */
export function heatmap(o: {
  title: string
  domain: [number, number]
  windowMs: number
  features: string[]
  cells: HeatCell[]
  max: number
  marks?: Mark[]
}): Html {
  const row = 14
  const top = 4
  const bottom = top + row * o.features.length
  const height = bottom + 20
  const x = xScale(o.domain)
  let body = ''
  o.features.forEach((name, i) => {
    body += `<text x="${LEFT - 4}" y="${top + row * i + 10}" text-anchor="end">${esc(name.length > 9 ? name.slice(0, 8) + '…' : name)}<title>${esc(name)}</title></text>`
  })
  const index = new Map(o.features.map((name, i) => [name, i]))
  const width = Math.max(1, x(o.domain[0] + o.windowMs) - x(o.domain[0]))
  for (const c of o.cells) {
    const i = index.get(c.feature)
    if (i === undefined) continue
    const share = c.value === null ? 0 : Math.min(1, Math.max(0, c.value / o.max))
    const fill = c.value === null ? '#eee' : `rgb(255,${Math.round(255 - 200 * share)},${Math.round(255 - 230 * share)})`
    body += `<rect class="cell" data-feature="${esc(c.feature)}" data-t="${c.t}" x="${f(x(c.t))}" y="${top + row * i}" width="${f(width)}" height="${row - 1}" fill="${fill}"><title>${esc(c.title)}</title></rect>`
  }
  body += backdrop([], o.marks ?? [], x, top, bottom)
  body += timeAxis(o.domain, x, bottom)
  return h`<div class="chart" data-chart="${o.title}"><div class="chart-title">${o.title}</div><svg width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="img" aria-label="${o.title}">${raw(body)}</svg></div>`
}

/** One lane per alert identity (kind, subject, segment), one bar per alert, on the charts' time axis. */
export function alertTimeline(o: { title: string; domain: [number, number]; spans: (Span & { lane: string })[]; marks?: Mark[] }): Html {
  const lanes = [...new Set(o.spans.map((s) => s.lane))].sort()
  const row = 14
  const top = 4
  const bottom = top + row * Math.max(1, lanes.length)
  const height = bottom + 20
  const x = xScale(o.domain)
  let body = ''
  for (const s of o.spans) {
    const i = lanes.indexOf(s.lane)
    const x0 = Math.max(LEFT, x(s.from))
    const width = Math.max(2, Math.min(W - RIGHT, x(s.to)) - x0)
    body += `<rect class="alert-bar" data-severity="${esc(s.severity)}" x="${f(x0)}" y="${top + row * i + 1}" width="${f(width)}" height="${row - 3}" fill="${SPAN_COLORS[s.severity] ?? '#ddd'}" fill-opacity="0.8"><title>${esc(s.label)}</title></rect>`
  }
  // Lane names over the bars, inside the plot: they are longer than the left margin.
  lanes.forEach((lane, i) => {
    body += `<text x="${LEFT + 2}" y="${top + row * i + 10}" fill-opacity="0.8">${esc(lane)}</text>`
  })
  // Lane names over the bars, inside the plot: they are longer than the left margin.
  lanes.forEach((lane, i) => {
    body += `<text x="${LEFT + 2}" y="${top + row * i + 10}" fill-opacity="0.8">${esc(lane)}</text>`
  })
  body += backdrop([], o.marks ?? [], x, top, bottom)
  body += timeAxis(o.domain, x, bottom)
  return h`<div class="chart" data-chart="${o.title}"><div class="chart-title">${o.title}</div><svg width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="img" aria-label="${o.title}">${raw(body)}</svg></div>`
}
