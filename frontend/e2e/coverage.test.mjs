// Browser tests of the bureau's coverage dashboard against a running Linli with the
// demo district (LINLI_BASE_URL): the reviewer opens the map, switches the figure and
// the grid resolution, opens a cell and a community, exports the tables, sees the
// basemap tiles line up when a tile URL is set (and nothing fetched without one), and
// reads the monthly trends.
// Set LINLI_SCREENSHOTS=dir to keep screenshots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, logIn, shot, useBrowser } from './support.mjs'

const { freshPage } = useBrowser()

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

/** A figure as the dashboard shows it in Chinese (the page's default language). */
function shownZh(v, key) {
  if (v == null) return '无'
  if (typeof v === 'string') return v
  if (key.endsWith('_share') || key.endsWith('_rate')) return `${(v * 100).toFixed(1)}%`
  return String(v)
}

async function body(response) {
  const chunks = []
  for await (const c of await response.createReadStream()) chunks.push(c)
  return Buffer.concat(chunks)
}

test('the map outlines every community; a boundary or a row opens its figures; the communities export', async () => {
  const page = await freshPage()
  await logIn(page, 'bureau', '/bureau')
  await refreshed(page)
  const communities = await (await page.request.get(`${BASE}/api/v1/communities`)).json()
  assert.ok(communities.length > 1, 'the demo has several communities')

  await page.getByTestId('menu-/bureau/map').click()
  await page.getByTestId('coverage-svg').waitFor()
  await page.locator('path.boundary').first().waitFor()
  assert.equal(await page.locator('path.boundary').count(), communities.length, 'one boundary per community')
  for (const c of communities) {
    const rings = c.boundary.type === 'MultiPolygon' ? c.boundary.coordinates.flat() : c.boundary.coordinates
    const d = await page.getByTestId(`boundary-${c.id}`).getAttribute('d')
    assert.equal(d.match(/M/g)?.length, rings.length, `one outline per ring of ${c.name}`)
    assert.equal(await page.getByTestId(`boundary-label-${c.id}`).textContent(), c.name)
  }

  // Clicking a boundary shows that community's figures as the API gives them.
  const month = await page.getByTestId('coverage-month').inputValue()
  const report = await (await page.request.get(`${BASE}/api/v1/coverage/communities?month=${month}`)).json()
  assert.equal(report.items.length, communities.length)
  const [first, second] = report.items
  await page.getByTestId(`boundary-${first.community_id}`).dispatchEvent('click')
  await page.getByTestId('coverage-panel-community').getByText(first.name).waitFor()
  for (const key of ['seniors_total', 'seniors_tier_a', 'served_30d', 'covered_15min_share', 'alarms', 'satisfaction_mean']) {
    assert.equal(await page.getByTestId(`panel-${key}`).textContent(), shownZh(first[key], key), key)
  }
  await shot(page, 'coverage-community')

  // So does its row in the communities table.
  const table = page.getByTestId('communities-table')
  assert.equal(await table.locator('tbody tr').count(), report.items.length)
  await table.locator('tbody tr').filter({ hasText: second.name }).first().click()
  await page.getByTestId('coverage-panel-community').getByText(second.name).waitFor()
  assert.equal(await page.getByTestId('panel-seniors_total').textContent(), shownZh(second.seniors_total, 'seniors_total'))

  // The export links answer with one line per community, for the month shown.
  const csvHref = await page.getByTestId('communities-export-csv').getAttribute('href')
  assert.ok(csvHref.includes(`month=${month}`), csvHref)
  const csv = await page.request.get(`${BASE}${csvHref}`)
  assert.equal(csv.status(), 200)
  assert.match(csv.headers()['content-type'], /^text\/csv/)
  const lines = (await csv.text()).trim().split(/\r?\n/)
  assert.match(lines[0], /^community_id,name,street,.*seniors_total/)
  assert.deepEqual(lines.slice(1).map((l) => Number(l.split(',')[0])), report.items.map((r) => r.community_id))
  const xlsx = await page.request.get(`${BASE}${await page.getByTestId('communities-export-xlsx').getAttribute('href')}`)
  assert.equal(xlsx.status(), 200)
  assert.match(xlsx.headers()['content-type'], /spreadsheetml/)
  assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK', 'an XLSX is a zip')
  await page.context().close()
})

// A 1×1 PNG standing in for a map tile.
const TILE = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64')

test('without a tile URL the map fetches nothing elsewhere; with one, Web Mercator tiles line up under the cells', async () => {
  const page = await freshPage()
  await logIn(page, 'bureau', '/bureau')
  const cells = await refreshed(page)
  assert.equal(cells.basemap_tile_url, null, 'the demo sets no basemap')
  const elsewhere = []
  page.on('request', (r) => {
    if (!r.url().startsWith(BASE) && !/^(data|blob):/.test(r.url())) elsewhere.push(r.url())
  })
  await page.goto(`${BASE}/bureau/map`)
  await page.locator('path.cell').first().waitFor()
  await page.locator('path.boundary').first().waitFor()
  assert.equal(await page.locator('image.tile').count(), 0)
  assert.deepEqual(elsewhere, [])

  // The settings' URL, given here by rewriting the cells' answer; the tiles come from the test.
  await page.route(
    (url) => url.pathname === '/api/v1/coverage/cells' && !url.searchParams.has('format'),
    async (route) => {
      const response = await route.fetch()
      const json = await response.json()
      await route.fulfill({ response, json: { ...json, basemap_tile_url: 'https://tiles.test/{z}/{x}/{y}.png' } })
    },
  )
  let fetched = 0
  await page.route((url) => url.host === 'tiles.test', (route) => {
    fetched++
    return route.fulfill({ contentType: 'image/png', body: TILE })
  })
  await page.reload()
  await page.getByTestId('basemap').waitFor()
  await page.getByTestId('basemap-credit').getByText('tiles.test').waitFor()
  const tiles = await page.locator('image.tile').evaluateAll((els) =>
    els.map((e) => ({ key: e.dataset.tile, href: e.getAttribute('href'), x: Number(e.getAttribute('x')), y: Number(e.getAttribute('y')), size: Number(e.getAttribute('width')) - 0.5 })),
  )
  assert.ok(tiles.length > 0)
  const z = Number(tiles[0].key.split('/')[0])
  for (const t of tiles) {
    assert.equal(t.href, `https://tiles.test/${t.key}.png`)
    assert.equal(Number(t.key.split('/')[0]), z, 'one zoom')
    assert.ok(t.size > 256 / Math.SQRT2 - 1 && t.size < 256 * Math.SQRT2 + 1, `tiles about 256 across: ${t.size}`)
  }
  // Together they cover the view box (760 × 520).
  assert.ok(Math.min(...tiles.map((t) => t.x)) <= 0 && Math.max(...tiles.map((t) => t.x + t.size)) >= 760)
  assert.ok(Math.min(...tiles.map((t) => t.y)) <= 0 && Math.max(...tiles.map((t) => t.y + t.size)) >= 520)
  await page.waitForFunction(() => [...document.querySelectorAll('image.tile')].length > 0)
  assert.ok(fetched > 0, 'the browser asked for the tiles')

  // A cell's corner sits where Web Mercator puts it on its tile.
  const feature = cells.features[0]
  const [lng, lat] = feature.geometry.coordinates[0][0]
  const n = 2 ** z
  const wx = ((lng + 180) / 360) * n
  const phi = (lat * Math.PI) / 180
  const wy = ((1 - Math.log(Math.tan(Math.PI / 4 + phi / 2)) / Math.PI) / 2) * n
  const tile = tiles.find((t) => t.key === `${z}/${Math.floor(wx)}/${Math.floor(wy)}`)
  assert.ok(tile, 'the tile under the cell is drawn')
  const d = await page.getByTestId(`cell-${feature.properties.cell}`).getAttribute('d')
  const [, sx, sy] = d.match(/^M(-?[\d.]+),(-?[\d.]+)/).map(Number)
  assert.ok(Math.abs(sx - (tile.x + (wx - Math.floor(wx)) * tile.size)) < 0.5, `x ${sx}`)
  assert.ok(Math.abs(sy - (tile.y + (wy - Math.floor(wy)) * tile.size)) < 0.5, `y ${sy}`)
  await shot(page, 'coverage-basemap')
  await page.context().close()
})

/** The district total of a count over the communities, leaving out "<10" parts. */
function districtTotal(report, key) {
  let sum = 0
  let partial = false
  for (const c of report.items) {
    if (typeof c[key] === 'number') sum += c[key]
    else if (typeof c[key] === 'string') partial = true
  }
  return { sum, partial }
}

/** The points drawn for the one line, by month. */
async function drawnPoints(page) {
  return page
    .locator('circle.point[data-series="total"]')
    .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.month, { value: Number(e.dataset.value), partial: e.dataset.partial === 'true' }])))
}

test('the bureau reads twelve months of a figure, switches figure and community, and exports the table', async () => {
  const page = await freshPage()
  await logIn(page, 'bureau', '/bureau')
  await refreshed(page)
  const current = (await (await page.request.get(`${BASE}/api/v1/coverage/communities`)).json()).month
  await page.getByTestId('menu-/bureau/trends').click()
  await page.waitForURL(`${BASE}/bureau/trends`)
  await page.getByTestId('trend-line').waitFor()

  // Twelve consecutive months ending with this one.
  const months = await page.getByTestId('trends-month-label').allTextContents()
  assert.equal(months.length, 12)
  assert.equal(months[11], current)
  for (let i = 1; i < 12; i++) {
    const [y, m] = months[i - 1].split('-').map(Number)
    assert.equal(months[i], m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`)
  }
  assert.equal(await page.getByTestId('trends-table').locator('tbody tr').count(), 12)
  const reports = await Promise.all(months.map(async (m) => (await page.request.get(`${BASE}/api/v1/coverage/communities?month=${m}`)).json()))
  const computed = reports.filter((r) => r.as_of)
  assert.ok(computed.length > 0)

  /** The drawn line and the table agree with the sums of the API's figures. */
  async function matches(key) {
    const drawn = await drawnPoints(page)
    assert.deepEqual(Object.keys(drawn).sort(), computed.map((r) => r.month).sort(), 'a point per computed month')
    for (const r of computed) {
      const { sum, partial } = districtTotal(r, key)
      assert.deepEqual(drawn[r.month], { value: sum, partial }, `${key} in ${r.month}`)
      assert.equal(await page.getByTestId(`trends-${r.month}-${key}`).textContent(), `${partial ? '≥' : ''}${sum}`)
    }
  }
  await matches('seniors_total')
  const seniorsLine = await page.getByTestId('trend-line').getAttribute('d')
  await shot(page, 'coverage-trends')

  // Another figure: another line, with "≥" where a community's part is "<10".
  await page.getByTestId('trends-metric').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: /^A级老人$/, visible: true }).first().click()
  await page.getByTestId('trends-chart-title').getByText('A级老人：').waitFor()
  await matches('seniors_tier_a')
  assert.notEqual(await page.getByTestId('trend-line').getAttribute('d'), seniorsLine)
  if (computed.some((r) => districtTotal(r, 'seniors_tier_a').partial)) await page.getByTestId('trends-note-at-least').waitFor()

  // A percentile does not add up: for all communities it is drawn per community.
  await page.getByTestId('trends-metric').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: '接单时间 P90', visible: true }).first().click()
  await page.getByTestId('trends-chart-title').getByText('接单时间 P90').waitFor()
  await page.getByTestId('trends-per-community').waitFor()
  assert.equal(await page.getByTestId('trend-line').count(), 0, 'no district line')
  for (const c of reports[11].items) {
    const want = Object.fromEntries(computed.flatMap((r) => {
      const v = r.items.find((x) => x.community_id === c.community_id)?.accept_p90_s
      return typeof v === 'number' ? [[r.month, String(v)]] : []
    }))
    const drawn = await page
      .locator(`circle.point[data-series="${c.community_id}"]`)
      .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.month, e.dataset.value])))
    assert.deepEqual(drawn, want, `accept_p90_s of ${c.name}`)
  }
  assert.equal(await page.getByTestId(`trends-${current}-accept_p90_s`).textContent(), '—')

  // One community: its own figures, "<10" where suppressed.
  const suppressedSomewhere = (c) => computed.some((r) => typeof r.items.find((x) => x.community_id === c.community_id)?.seniors_tier_a === 'string')
  const one = reports[11].items.find(suppressedSomewhere) ?? reports[11].items[0]
  await page.getByTestId('trends-community').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: one.name, visible: true }).first().click()
  // Attached, not visible: where suppressed months ("<10") break the line, the path is
  // only moves between lone points, which the browser reports as hidden.
  await page.getByTestId('trend-line').waitFor({ state: 'attached' })
  for (const r of computed) {
    const v = r.items.find((c) => c.community_id === one.community_id)?.seniors_tier_a
    await page.getByTestId(`trends-${r.month}-seniors_tier_a`).getByText(shownZh(v, 'seniors_tier_a'), { exact: true }).waitFor()
  }
  await shot(page, 'coverage-trends-community')

  // The table as CSV, made in the browser.
  const download = page.waitForEvent('download')
  await page.getByTestId('trends-export-csv').click()
  const lines = (await body(await download)).toString('utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/)
  assert.match(lines[0], /^month,community,seniors_total,seniors_tier_a,/)
  assert.equal(lines.length, 13)
  const column = lines[0].split(',').indexOf('seniors_tier_a')
  for (const r of computed) {
    const row = lines.find((l) => l.startsWith(`${r.month},`)).split(',')
    assert.equal(row[1], one.name)
    const v = r.items.find((c) => c.community_id === one.community_id)?.seniors_tier_a
    assert.equal(row[column], v == null ? '' : String(v))
  }
  await page.context().close()
})
