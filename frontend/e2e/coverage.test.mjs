// Browser tests of the bureau's coverage map against a running Linli with the demo
// district (LINLI_BASE_URL): the reviewer opens the map, switches the figure and the
// grid resolution, opens a cell, and exports the gaps list.
// Set LINLI_SCREENSHOTS=dir to keep screenshots.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { chromium } from 'playwright-core'

const BASE = process.env.LINLI_BASE_URL ?? 'http://127.0.0.1:8080'
const SHOTS = process.env.LINLI_SCREENSHOTS
const PHONE = { width: 390, height: 844 }
let browser

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })
  if (SHOTS) mkdirSync(SHOTS, { recursive: true })
})
after(async () => {
  await browser?.close()
})

async function freshPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...options })
  context.setDefaultTimeout(15000)
  return context.newPage()
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png` })
}

async function logIn(page, username, home) {
  await page.goto(`${BASE}/login`)
  await page.locator('input[name=username]').fill(username)
  await page.locator('input[name=password]').fill('linli-demo')
  await page.getByTestId('submit').click()
  await page.waitForURL(`${BASE}${home}`)
}

/** Waits until the coverage job (run at start) has refreshed this month. */
async function refreshed(page) {
  for (let i = 0; i < 120; i++) {
    const res = await page.request.get(`${BASE}/api/v1/coverage/cells?resolution=8`)
    const body = await res.json()
    if (res.ok() && body.as_of && body.features.length) return body
    await page.waitForTimeout(500)
  }
  assert.fail('the coverage figures were never refreshed')
}

test('the bureau opens the map, switches figure and resolution, opens a cell and exports the gaps', async () => {
  const page = await freshPage()
  await logIn(page, 'bureau', '/bureau')
  const cells = await refreshed(page)
  // The bureau sees small counts suppressed.
  assert.ok(cells.features.every((f) => typeof f.properties.seniors_total === 'number' || f.properties.seniors_total === '<10'))

  await page.getByTestId('menu-/bureau/map').click()
  await page.waitForURL(`${BASE}/bureau/map`)
  await page.getByTestId('coverage-svg').waitFor()
  await page.getByTestId('coverage-as-of').waitFor()
  const at8 = await page.locator('path.cell').count()
  assert.equal(at8, cells.features.length, 'one hexagon per cell')

  // Another figure recolours the same cells.
  await page.getByTestId('coverage-metric').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: 'A级老人', visible: true }).first().click()
  const first = cells.features[0].properties
  await page.locator(`[data-testid="cell-${first.cell}"][data-value="${first.seniors_tier_a ?? ''}"]`).waitFor()

  // Finer cells: more hexagons.
  await page.getByTestId('coverage-res-9').click()
  const at9 = await (await page.request.get(`${BASE}/api/v1/coverage/cells?resolution=9`)).json()
  await page.waitForFunction((n) => document.querySelectorAll('path.cell').length === n, at9.features.length)
  assert.ok(at9.features.length > at8, `${at9.features.length} cells at 9, ${at8} at 8`)

  // Opening a cell shows its figures as the API gives them.
  const cell = at9.features.find((f) => typeof f.properties.seniors_total === 'number') ?? at9.features[0]
  await page.getByTestId(`cell-${cell.properties.cell}`).dispatchEvent('click')
  await page.getByTestId('coverage-panel-cell').getByText(cell.properties.cell).waitFor()
  assert.equal(await page.getByTestId('panel-seniors_total').textContent(), String(cell.properties.seniors_total))
  await shot(page, 'coverage-map')

  // The gaps list, ranked, exports as CSV with its reasons.
  await page.getByTestId('gaps-table').locator('tbody tr').first().waitFor()
  const download = page.waitForEvent('download')
  await page.getByTestId('gaps-export-csv').click()
  const file = await download
  const chunks = []
  for await (const c of await file.createReadStream()) chunks.push(c)
  const text = Buffer.concat(chunks).toString('utf8')
  assert.match(text.split('\n')[0], /rank,kind,cell,community_id,name,score,reason,reason_en/)
  assert.ok(text.split('\n').length > 2, 'at least one gap')
  await page.context().close()
})

test('the bureau reads the district scorecard: four perspectives, targets, actuals as the API gives them', async () => {
  const page = await freshPage()
  await logIn(page, 'bureau', '/bureau')
  await refreshed(page)
  const card = await (await page.request.get(`${BASE}/api/v1/coverage/scorecard`)).json()
  await page.getByTestId('menu-/bureau/scorecard').click()
  await page.waitForURL(`${BASE}/bureau/scorecard`)
  for (const p of ['financial', 'satisfaction', 'internal_process', 'learning_growth']) await page.getByTestId(`perspective-${p}`).waitFor()
  const responders = card.perspectives.flatMap((p) => p.indicators).find((i) => i.code === 'responders_per_100')
  assert.equal(responders.trend.length, 12)
  const shown = await page.getByTestId('indicator-responders_per_100').getByTestId('actual').textContent()
  assert.equal(shown, responders.actual == null ? '无' : String(responders.actual))
  await shot(page, 'coverage-scorecard')
  await page.context().close()
})
