import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startConsole, kafkaDeadLetters, type ConsoleServer } from '../../services/console/run/console-server.ts'
import { ApproverTokens, tokenHash } from '../../services/policy/core/approver-tokens.ts'
import type { PolicyService } from '../../services/policy/run/policy-service.ts'
import { ClickHouse } from '../../services/shared/clickhouse/client.ts'
import { parseDriftgateConfig } from '../../services/shared/config/model-config.ts'
import { sendDeadLetters } from '../../services/shared/kafka/dead-letter.ts'
import { createProducer } from '../../services/shared/kafka/producer.ts'
import { CLICKHOUSE_URL, testLogger } from '../support/harness.ts'
import { ALICE } from '../support/policy-api.ts'
import { CP, H, MODEL, degradedWindows, policy, trigger } from '../unit/policy/fixtures.ts'
import { useLiveEnvs, type LiveEnv } from '../unit/policy/live-env.ts'
import { alertRow } from '../unit/policy/seed-rows.ts'

// The console in Debian's chromium (playwright-core, no browser download): a policy service with
// its approval API on fresh topics and a fresh database, the monitor's tables seeded with 54
// windows, one performance alert and per-feature statistics; the pages checked element by
// element against those rows, approve and reject sent through the page to the policy API and
// read back from the audit. Screenshots go to .local/console-screenshots/.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SHOTS = join('.local', 'console-screenshots')
const FEATURES = ['income', 'debt_ratio', 'channel']

let server: ConsoleServer
let browser: Browser
let page: Page
let decisionId: string
const envs = useLiveEnvs()

// Half and half in each bin and category: the seeded windows drift a little more each hour.
const REFERENCE = join('.local', 'console-screenshots', 'reference.json')
const numericRef = { bin_edges: [0.5], histogram: [500, 500], count: 1000, null_rate: 0, min: 0, max: 1, mean: 0.5, std: 0.1 }
const reference = {
  model_id: MODEL,
  source: 'test',
  created_at: 0,
  numeric: { income: numericRef, debt_ratio: numericRef },
  categorical: { channel: { categories: ['web', 'app'], counts: [500, 500], count: 1000, null_rate: 0 } },
  prediction: {},
  performance: {},
}

const config = parseDriftgateConfig(
  {
    models: [
      {
        model_id: MODEL,
        task: 'binary_classification',
        positive_class: 'default',
        classes: ['default', 'repaid'],
        features: { numeric: ['income', 'debt_ratio'], categorical: ['channel'] },
        windows: ['1h'],
        reference_profile: REFERENCE,
      },
      { model_id: 'quiet-model', task: 'regression', features: { numeric: ['x'] }, windows: ['1h'] },
    ],
  },
  process.cwd(),
)

function featureRows(starts: number[]): Record<string, unknown>[] {
  return starts.flatMap((t, i) =>
    FEATURES.map((feature) => ({
      model_id: MODEL,
      model_version: 'v1',
      segment: 'all',
      window_size_ms: H,
      window_start: t,
      feature,
      kind: feature === 'channel' ? 'categorical' : 'numeric',
      count: 1000,
      // debt_ratio goes missing in the windows after the change point.
      nulls: feature === 'debt_ratio' && t >= CP ? 300 : 0,
      min: 0,
      max: 1,
      mean: 0.5,
      std: 0.1,
      bin_edges: feature === 'channel' ? [] : [0.5],
      histogram: feature === 'channel' ? [] : [500 + i, 500 - i],
      categories: feature === 'channel' ? ['web', 'app'] : [],
      category_counts: feature === 'channel' ? [600, 400] : [],
      unseen: 0,
      data_version: 1,
      computed_at: 1,
    })),
  )
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
}

interface Setup {
  env: LiveEnv
  service: PolicyService
  server: ConsoleServer
  decisionId: string
}
const setups: Setup[] = []

/** A policy service with a decision awaiting approval, its tables seeded, and a console over them. */
async function setUp(): Promise<Setup> {
  const env = await envs.open()
  env.clock.t = CP + 6 * H
  const windows = degradedWindows()
  await env.seed({ windows, labelRate: { until: CP + 6 * H, hours: 24, perHour: 300 } })
  await env.ch.insert('window_feature_stats', featureRows(windows.map((w) => w.window_start)))
  await env.ch.insert('alerts', [alertRow(trigger({ last_seen: CP + 2 * H }))])
  const service = await env.start(policy({ require_approval: true }), { api: { port: 0, tokens: ApproverTokens.parse(`alice:${tokenHash(ALICE)}`) } })
  await env.send(trigger({ last_seen: CP + 2 * H }))
  await env.processed(1)
  const [row] = await env.rows<{ decision_id: string }>('SELECT decision_id FROM {{db}}.policy_decisions FINAL WHERE awaiting_approval = 1')

  const producer = await createProducer(env.kafka)
  const record = (offset: number, value: string) => ({
    topic: env.topics.predictions,
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from(value),
    timestamp: CP,
    headers: {},
  })
  await sendDeadLetters(producer, env.topics.deadLetter, [
    { record: record(1, JSON.stringify({ model_id: MODEL })), code: 'invalid_event', reason: 'x', step: 'validate' },
    { record: record(2, JSON.stringify({ model_id: MODEL })), code: 'invalid_event', reason: 'x', step: 'validate' },
    { record: record(3, '{broken'), code: 'malformed_json', reason: 'y', step: 'decode' },
  ])
  await producer.close()

  // The policy service's fresh database is not the analyst's: read it with a reader that may not
  // send settings (the read-only user's own check is tested below, on the service database).
  const reader = new ClickHouse({ url: CLICKHOUSE_URL, database: env.ch.database, readOnly: true })
  const server = await startConsole({
    ch: reader,
    config,
    policyApiUrl: `http://127.0.0.1:${service.apiPort()}`,
    deadLetters: kafkaDeadLetters(env.kafka, env.topics.deadLetter, async (value) => {
      try {
        return (JSON.parse(value?.toString() ?? '') as { model_id?: string }).model_id ?? null
      } catch {
        return null
      }
    }),
    logger: testLogger('console'),
    port: 0,
  })
  const setup = { env, service, server, decisionId: row!.decision_id }
  setups.push(setup)
  return setup
}

let main: Setup
const windowCount = degradedWindows().length

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true })
  writeFileSync(REFERENCE, JSON.stringify(reference))
  main = await setUp()
  server = main.server
  decisionId = main.decisionId
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`)
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] })
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
}, 90_000)

afterAll(async () => {
  await browser?.close()
  // The environments under the consoles close in useLiveEnvs' hooks, which run after this one.
  for (const s of setups) await s.server.close()
})

describe('the console in a browser', () => {
  it('lists the models, the one with a firing alert and an open episode first', async () => {
    const started = Date.now()
    await page.goto(server.url)
    expect(Date.now() - started).toBeLessThan(2000)
    const rows = await page.locator('tbody tr').allInnerTexts()
    expect(rows[0]).toMatch(new RegExp(`^${MODEL}\\s+binary_classification\\s+1\\s+1\\s+0\\.0%`))
    expect(rows[1]).toMatch(/^quiet-model\s+regression\s+0\s+0\s+–\s+–\s+no windows yet/)
    await screenshot('overview')
    expect((await fetch(`${server.url}/models/%E0%A4%A`)).status).toBe(400)
    expect((await fetch(`${server.url}/models/nope`)).status).toBe(404)
  })

  it('draws one point per window, intervals on labeled windows, the alert span and the heatmaps', async () => {
    await page.click(`a[href="/models/${MODEL}"]`)
    await expect.poll(() => page.locator('circle.pt[data-series="volume"]').count()).toBe(windowCount)
    // Labeled windows: all but the last after the change point (coverage 0).
    const labeled = degradedWindows().filter((w) => w.labeled_count > 0).length
    expect(await page.locator('circle.pt[data-series="accuracy"]').count()).toBe(labeled)
    expect(await page.locator('line.ci[data-series="accuracy"]').count()).toBe(labeled)
    expect(await page.locator('circle.pt[data-series="estimated"]').count()).toBe(windowCount)
    expect(await page.locator('circle.pt[data-series="coverage"]').count()).toBe(windowCount)
    // The alert is drawn on each time series chart (volume, accuracy, coverage, value).
    expect(await page.locator('rect.alert-span').count()).toBe(4)
    // And once in the alert timeline, from its first window to the end of its last.
    const bar = page.locator('rect.alert-bar')
    expect(await bar.count()).toBe(1)
    expect(await bar.locator('title').textContent()).toMatch(/^performance accuracy \(all, firing\)/)
    // Drift and null-rate heatmaps: one cell per feature and window each.
    const drift = page.locator('div[data-chart^="Drift"] rect.cell')
    expect(await drift.count()).toBe(windowCount * FEATURES.length)
    // PSI of window i's income (500 + i, 500 - i against 500, 500), worked out here.
    const psiOf = (i: number): number => [(500 + i) / 1000, (500 - i) / 1000].reduce((sum, p) => sum + (p - 0.5) * Math.log(p / 0.5), 0)
    const titles = await page.locator('div[data-chart^="Drift"] rect.cell[data-feature="income"] title').allTextContents()
    expect(titles.at(-1)).toBe(`income: PSI ${psiOf(windowCount - 1).toFixed(3)} (1000 values)`)
    expect(await page.locator('div[data-chart^="Data quality"] rect.cell').count()).toBe(windowCount * FEATURES.length)
    const missing = await page
      .locator('div[data-chart^="Data quality"] rect.cell[data-feature="debt_ratio"]')
      .evaluateAll((cells) => cells.filter((c) => c.getAttribute('fill') !== 'rgb(255,255,255)').length)
    expect(missing).toBe(6)
    await screenshot('model')
  })

  it('shows the episode, its decision path and facts, and approves through the policy API', async () => {
    await page.click(`a[href^="/models/${MODEL}/episodes/"]`)
    await expect.poll(() => page.locator('section.decision').count()).toBe(1)
    expect(await page.locator('section.decision').innerText()).toMatch(/awaiting approval at approval \(awaiting_approval\)/)
    expect(await page.locator('section.decision tbody tr').count()).toBeGreaterThan(5)
    await screenshot('episode-pending')
    // A wrong token is refused by the policy API and audited there.
    const approve = page.locator(`form[action$="/decisions/${decisionId}/approve"]`)
    await approve.locator('input[name=token]').fill('not-a-token')
    await approve.locator('button').click()
    await expect.poll(() => page.locator('.flash').innerText()).toMatch(/refused \(401\)/)
    // The policy's audit clock is the test's: a second later, so the audit has an order.
    main.env.clock.t += 1000
    await approve.locator('input[name=token]').fill(ALICE)
    await approve.locator('input[name=comment]').fill('checked in the browser')
    await approve.locator('button').click()
    await expect.poll(() => page.locator('.flash.ok').innerText()).toMatch(/Approved/)
    await page.reload()
    const audit = await page.locator('h2:text("Approval audit") + table tbody tr').allInnerTexts()
    expect(audit.map((r) => r.split('\t').slice(1, 5))).toEqual([
      ['approve', 'unauthorized', '', 'unknown bearer token'],
      ['approve', 'ok', 'alice', 'checked in the browser'],
    ])
    expect(await page.locator('table.request').innerText()).toMatch(/approved by\s+alice/)
    expect(await page.locator('form.act:not(.investigation)').count()).toBe(0)
    const [request] = await main.env.requestsOnTopic(1)
    expect(request).toMatchObject({ decision_id: decisionId })
    await screenshot('episode-approved')
  })

  it('rejects through the policy API: no request, the rejection in the audit', async () => {
    const other = await setUp()
    await page.goto(`${other.server.url}/models/${MODEL}`)
    await page.click(`a[href^="/models/${MODEL}/episodes/"]`)
    const reject = page.locator(`form[action$="/decisions/${other.decisionId}/reject"]`)
    await reject.locator('input[name=token]').fill(ALICE)
    await reject.locator('input[name=comment]').fill('seasonal, wait')
    await reject.locator('button').click()
    await expect.poll(() => page.locator('.flash.ok').innerText()).toMatch(/Rejected/)
    await page.reload()
    const audit = await page.locator('h2:text("Approval audit") + table tbody tr').allInnerTexts()
    expect(audit.map((r) => r.split('\t').slice(1, 5))).toEqual([['reject', 'ok', 'alice', 'seasonal, wait']])
    expect(await page.locator('text=No retrain request for this episode.').count()).toBe(1)
    expect(await page.locator('form.act:not(.investigation)').count()).toBe(0)
    expect(await other.env.rawRequestCount()).toBe(0)
    await screenshot('episode-rejected')

    // What the investigation found, recorded through the policy API and audited there.
    other.env.clock.t += 1000
    const investigation = page.locator('form.investigation')
    await investigation.locator('select[name=outcome]').selectOption('false_alarm')
    await investigation.locator('input[name=token]').fill(ALICE)
    await investigation.locator('input[name=comment]').fill('a test campaign')
    await investigation.locator('button').click()
    await expect.poll(() => page.locator('.flash.ok').innerText()).toMatch(/recorded false_alarm for episode/)
    await page.reload()
    expect(await page.locator('h2:text("Investigation") + table tbody tr').allInnerTexts()).toEqual([
      expect.stringMatching(/\tfalse_alarm\t\talice\ta test campaign$/),
    ])
    const audit2 = await page.locator('h2:text("Approval audit") + table tbody tr').allInnerTexts()
    expect(audit2.map((r) => r.split('\t').slice(1, 5))).toEqual([
      ['reject', 'ok', 'alice', 'seasonal, wait'],
      ['investigation', 'ok', 'alice', 'false_alarm: a test campaign'],
    ])
    await screenshot('episode-investigated')
  })

  it('counts dead letters by code and model', async () => {
    await page.goto(`${server.url}/dead-letters`)
    const rows = await page.locator('h2:text("By code and model") + table tbody tr').allInnerTexts()
    expect(rows.map((r) => r.split('\t').slice(0, 3))).toEqual([
      ['invalid_event', MODEL, '2'],
      ['malformed_json', '?', '1'],
    ])
    await screenshot('dead-letters')
  })
})
