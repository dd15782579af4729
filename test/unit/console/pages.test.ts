import { describe, expect, it } from 'vitest'
import { byAttention } from '../../../services/console/core/attention.ts'
import { heatmap, lineChart } from '../../../services/console/core/charts.ts'
import { driftCells, nullRateCells } from '../../../services/console/core/drift-cells.ts'
import { DeadLetterTally } from '../../../services/console/core/dead-letter-counts.ts'
import { deployMarks, episodePage, modelPage } from '../../../services/console/core/pages.ts'
import type { DecisionRow, FeaturePoint, ModelState, WindowPoint } from '../../../services/console/core/rows.ts'
import type { ReferenceProfile } from '../../../services/shared/records/reference-profile.ts'

const H = 3_600_000
const count = (html: string, pattern: RegExp): number => html.match(pattern)?.length ?? 0

const state = (id: string, o: Partial<ModelState> = {}): ModelState => ({
  model_id: id,
  task: 'binary_classification',
  window_size_ms: H,
  firing: 0,
  firing_critical: 0,
  open_episodes: 0,
  last_window: 1,
  label_coverage: 1,
  lag_ms: 0,
  ...o,
})

const window = (i: number, o: Partial<WindowPoint> = {}): WindowPoint => ({
  window_start: i * H,
  model_version: 'v1',
  volume: 100 + i,
  labeled_count: 50,
  label_coverage: 0.5,
  accuracy: 0.9,
  mae: null,
  estimated_accuracy: 0.88,
  business_value: 10,
  ...o,
})

describe('console pages', () => {
  it('orders models by critical alerts, firing, open episodes, then low coverage', () => {
    const order = byAttention([
      state('quiet'),
      state('low-coverage', { label_coverage: 0.1 }),
      state('episode', { open_episodes: 1 }),
      state('warning', { firing: 2 }),
      state('critical', { firing: 1, firing_critical: 1 }),
    ]).map((m) => m.model_id)
    expect(order).toEqual(['critical', 'warning', 'episode', 'low-coverage', 'quiet'])
  })

  it('draws one point per row, an interval bar per point that has one, and a span per alert', () => {
    const svg = lineChart({
      title: 't',
      domain: [0, 10 * H],
      series: [{ name: 'a', color: '#000', points: [0, 1, 2].map((i) => ({ t: i * H, y: i, low: i - 0.5, high: i + 0.5 })) }],
      spans: [{ from: H, to: 3 * H, label: 'x', severity: 'warning' }],
    }).html
    expect(count(svg, /class="pt"/g)).toBe(3)
    expect(count(svg, /class="ci"/g)).toBe(3)
    expect(count(svg, /class="alert-span"/g)).toBe(1)
  })

  it('escapes what it is given', () => {
    const svg = heatmap({
      title: '<b>',
      domain: [0, H],
      windowMs: H,
      features: ['<x>'],
      cells: [{ feature: '<x>', t: 0, value: 0.1, title: '"><script>' }],
      max: 1,
    }).html
    expect(svg).not.toMatch(/<script>|<x>|<b>/)
    expect(count(svg, /class="cell"/g)).toBe(1)
  })

  it('computes PSI against the reference, versions of a window added up, and null rates', () => {
    const reference = {
      numeric: { x: { histogram: [50, 50], bin_edges: [0] } },
      categorical: { c: { categories: ['a', 'b'], counts: [1, 1], count: 2, null_rate: 0 } },
      prediction: {},
    } as unknown as ReferenceProfile
    const row = (o: Partial<FeaturePoint>): FeaturePoint => ({
      window_start: 0,
      feature: 'x',
      kind: 'numeric',
      count: 0,
      nulls: 0,
      histogram: [],
      categories: [],
      category_counts: [],
      ...o,
    })
    const rows = [
      row({ histogram: [10, 30], count: 40, nulls: 10 }),
      row({ histogram: [10, 10], count: 20, nulls: 0 }),
      row({ feature: 'c', kind: 'categorical', categories: ['a'], category_counts: [5], count: 5 }),
      row({ feature: 'c', kind: 'categorical', categories: ['a', 'b'], category_counts: [5, 10], count: 15 }),
    ]
    const cells = driftCells(rows, reference)
    // x: 20 / 60 against 50 / 50 → (1/3 − 1/2)·ln((1/3)/(1/2)) + (2/3 − 1/2)·ln((2/3)/(1/2)).
    const x = (1 / 3 - 0.5) * Math.log(1 / 3 / 0.5) + (2 / 3 - 0.5) * Math.log(2 / 3 / 0.5)
    expect(cells.find((c) => c.feature === 'x')!.value).toBeCloseTo(x, 12)
    // c: a 10, b 10 against 1, 1: no drift.
    expect(cells.find((c) => c.feature === 'c')!.value).toBeCloseTo(0, 12)
    expect(nullRateCells(rows).find((c) => c.feature === 'x')!.value).toBeCloseTo(10 / 70, 12)
  })

  it('marks a deploy where the version changes and draws every window', () => {
    const windows = [window(0), window(1), window(2, { model_version: 'v2' }), window(3, { model_version: 'v2', accuracy: null, labeled_count: 0 })]
    expect(deployMarks(windows)).toEqual([{ t: 2 * H, label: 'deploy v2', kind: 'deploy' }])
    const html = modelPage({
      modelId: 'm',
      task: 'binary_classification',
      windowSizeMs: H,
      windowSizes: [H],
      windows,
      features: [],
      featureOrder: [],
      alerts: [],
      episodes: [],
      reference: null,
      events: [{ name: 'sale', from: H, to: 2 * H }],
    })
    expect(count(html, /class="pt" data-series="volume"/g)).toBe(4)
    expect(count(html, /class="pt" data-series="accuracy"/g)).toBe(3)
    expect(count(html, /class="ci" data-series="accuracy"/g)).toBe(3)
    expect(count(html, /class="pt" data-series="estimated"/g)).toBe(4)
    expect(count(html, /class="mark" data-kind="event"/g)).toBeGreaterThan(0)
  })

  it('offers approve and reject only on the latest decision awaiting approval', () => {
    const decision = (id: string, at: number, awaiting: number): DecisionRow => ({
      decision_id: id,
      decision: awaiting ? 'hold' : 'investigate',
      deciding_gate: 'approval',
      deciding_code: 'awaiting_approval',
      reason_gates: ['root_cause', 'approval'],
      reason_verdicts: ['pass', 'hold'],
      reason_codes: ['ok', 'awaiting_approval'],
      reason_messages: ['fine', 'needs a human'],
      explanation: 'e',
      trigger_alert_id: 'a',
      trigger_status: 'firing',
      awaiting_approval: awaiting,
      request_id: '',
      decided_at: at,
      policy_version: 'p',
      context_json: '{"k":1}',
    })
    const episode = {
      episode_id: 'e1',
      model_id: 'm',
      model_version: 'v',
      status: 'open',
      opened_at: 0,
      change_point: 0,
      request_id: '',
      alerts_json: '[]',
      updated_at: 0,
    }
    const html = episodePage({ episode, decisions: [decision('d1', 1, 1), decision('d2', 2, 1)], request: null, approvals: [], investigations: [] })
    expect(count(html, /<form class="act"/g)).toBe(2)
    expect(html).toContain('/models/m/episodes/e1/decisions/d2/approve')
    expect(html).not.toContain('/decisions/d1/')
  })

  it('counts dead letters by code and model', () => {
    const tally = new DeadLetterTally()
    tally.add('bad_json', 'm1', 5)
    tally.add('bad_json', 'm1', 7)
    tally.add('bad_json', null, 1)
    expect(tally.rows()).toEqual([
      { code: 'bad_json', model: 'm1', count: 2, newest: 7 },
      { code: 'bad_json', model: '?', count: 1, newest: 1 },
    ])
  })
})
