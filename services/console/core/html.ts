// Building pages: every value that reaches a page goes through esc(), so a feature name or an
// alert summary can never inject markup.

export type Html = { readonly html: string }

export const raw = (html: string): Html => ({ html })

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/** A tagged template: interpolated strings are escaped, Html values and arrays of them are not. */
export function h(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!
  })
  return raw(out)
}

function render(v: unknown): string {
  if (v === null || v === undefined || v === false) return ''
  if (Array.isArray(v)) return v.map(render).join('')
  if (typeof v === 'object' && 'html' in v) return (v as Html).html
  return esc(v)
}

export const iso = (ms: number | null | undefined): string => (ms ? new Date(Number(ms)).toISOString().slice(0, 16).replace('T', ' ') : '')

export function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`
  return `${(ms / 86_400_000).toFixed(1)} d`
}

export const num = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : Number(v.toFixed(digits)).toString()
export const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`)

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header a{color:#fff;text-decoration:none}header b{margin-right:16px}
main{padding:12px 16px;max-width:1200px}
table{border-collapse:collapse;background:#fff;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eceff1}td.n{text-align:right;font-variant-numeric:tabular-nums}
.sev-critical{color:#b71c1c;font-weight:bold}.sev-warning{color:#e65100}.sev-info{color:#1565c0}
.badge{display:inline-block;padding:0 6px;border-radius:8px;background:#eceff1}
.firing{background:#ffcdd2}.ok{background:#c8e6c9}
svg{background:#fff;border:1px solid #ddd;display:block;margin:4px 0}
svg text{font:10px sans-serif;fill:#555}
.chart h3,.chart-title{margin:10px 0 0;font-size:13px}
.flash{padding:6px 10px;background:#fff3e0;border:1px solid #ffb74d;margin:8px 0}
.flash.ok{background:#e8f5e9;border-color:#81c784}
form.act{display:inline-flex;gap:6px;align-items:center;margin:4px 0}
pre{background:#fff;border:1px solid #ddd;padding:6px;overflow:auto;max-height:300px}
.muted{color:#777}
`

export function page(title: string, body: Html): string {
  return (
    '<!doctype html>' +
    h`<html lang="en"><head><meta charset="utf-8"><title>${title} · driftgate</title><style>${raw(STYLE)}</style></head>
<body><header><b>driftgate</b><a href="/">Models</a><a href="/dead-letters">Dead letters</a></header><main><h1>${title}</h1>${body}</main></body></html>`.html
  )
}

export function table(headers: string[], rows: (string | number | Html)[][], numeric: boolean[] = []): Html {
  return h`<table><thead><tr>${headers.map((x) => h`<th>${x}</th>`)}</tr></thead><tbody>${rows.map(
    (r) => h`<tr>${r.map((c, i) => (numeric[i] ? h`<td class="n">${c}</td>` : h`<td>${c}</td>`))}</tr>`,
  )}</tbody></table>`
}
