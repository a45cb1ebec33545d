// Browser tests of the worker console's responders page and alarm list against a
// running Linli with the demo district (LINLI_BASE_URL): the responders of the
// worker's communities in the table and on the map, filtered by kind and duty, one
// responder's week of shifts; a new call on the open alarm list, opening its screen.
// Every expectation is read from the API, not written down here.
// Set LINLI_SCREENSHOTS=dir to keep screenshots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, logIn, pressBell, shot, useBrowser } from './support.mjs'

/** How long a reported position counts as where the responder is (the page's rule). */
const FRESH_MS = 30 * 60_000
const { freshPage } = useBrowser()

/**
 * Opens the responders page from the menu and returns the list exactly as the page
 * received it from GET /api/v1/responders (duty and positions change while other
 * tests run, so the page's own answer is the one to compare with).
 */
async function openResponders(page) {
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/responders' && r.request().method() === 'GET')
  await page.getByTestId('menu-/console/responders').click()
  await page.waitForURL(`${BASE}/console/responders`)
  const responders = await (await answer).json()
  await page.getByTestId('responders-total').waitFor()
  return responders
}

function isLive(r, now = Date.now()) {
  return r.on_duty && r.last_seen_at && r.last_latitude != null && r.last_longitude != null && now - Date.parse(r.last_seen_at) <= FRESH_MS
}

function hasPosition(r) {
  return isLive(r) || (Number.isFinite(r.home_latitude) && Number.isFinite(r.home_longitude))
}

/** The ids of the table's rows, in order. */
async function rowIds(page) {
  const ids = await page.getByTestId('responders-table').locator('[data-testid^=responder-row-]').evaluateAll((els) => els.map((e) => e.dataset.testid))
  return ids.map((id) => Number(id.replace('responder-row-', '')))
}

/** The first page of the table: as many as the pager's page size shows. */
async function pageSize(page) {
  const text = await page.getByTestId('responders-pager').locator('.el-pagination__sizes .el-select__placeholder').textContent()
  const n = Number.parseInt(text ?? '', 10)
  assert.ok(n > 0, `a page size in "${text}"`)
  return n
}

test('a worker opens the responders page from the menu and sees every responder in the table and on the map', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', '/console')
  const responders = await openResponders(page)
  assert.ok(responders.length > 0, 'the demo district has responders')
  const independent = await (await page.request.get(`${BASE}/api/v1/responders`)).json()
  assert.equal(independent.length, responders.length)

  // The table: the first page of the list, in the API's order; the total counts all.
  const size = await pageSize(page)
  assert.deepEqual(await rowIds(page), responders.slice(0, size).map((r) => r.id))
  assert.match(await page.getByTestId('responders-total').textContent(), new RegExp(`\\b${responders.length}\\b`))

  // The map: a dot for everyone with a position, filled for the live ones.
  const map = page.getByTestId('responder-map-svg')
  await map.waitFor()
  assert.equal(await map.locator('[data-testid^=responder-dot-]').count(), responders.filter(hasPosition).length)
  assert.equal(await map.locator('[data-testid^=responder-dot-][data-live=true]').count(), responders.filter((r) => isLive(r)).length)
  const communities = await (await page.request.get(`${BASE}/api/v1/communities`)).json()
  assert.equal(await map.locator('[data-testid^=responder-boundary-]').count(), communities.length)

  // Each live responder's dot is the filled one.
  for (const r of responders.filter((x) => isLive(x)).slice(0, 5)) {
    assert.equal(await map.getByTestId(`responder-dot-${r.id}`).getAttribute('data-live'), 'true', r.display_name)
  }
  await shot(page, 'responders')
  await page.context().close()
})

test('filtering to volunteers leaves only volunteers, in the table and on the map', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', '/console')
  const responders = await openResponders(page)
  const volunteers = responders.filter((r) => r.kind === 'volunteer')
  assert.ok(volunteers.length > 0 && volunteers.length < responders.length, 'the demo has volunteers and others')

  await page.getByTestId('responders-kind-volunteer').click()
  const size = await pageSize(page)
  await page.getByTestId('responders-total').getByText(new RegExp(`\\b${volunteers.length}\\b`)).waitFor()
  assert.deepEqual(await rowIds(page), volunteers.slice(0, size).map((r) => r.id))
  const dots = page.getByTestId('responder-map-svg').locator('[data-testid^=responder-dot-]')
  assert.equal(await dots.count(), volunteers.filter(hasPosition).length)
  assert.deepEqual([...new Set(await dots.evaluateAll((els) => els.map((e) => e.dataset.kind)))], ['volunteer'])

  // And on duty only: the volunteers on duty.
  await page.getByTestId('responders-on-duty').click()
  const onDuty = volunteers.filter((r) => r.on_duty)
  await page.getByTestId('responders-total').getByText(new RegExp(`\\b${onDuty.length}\\b`)).first().waitFor()
  assert.deepEqual(await rowIds(page), onDuty.slice(0, size).map((r) => r.id))
  if (!onDuty.length) await page.getByTestId('responders-empty').waitFor()
  await shot(page, 'responders-volunteers-on-duty')

  // The filters reset together.
  await page.getByTestId('responders-reset').click()
  assert.deepEqual(await rowIds(page), responders.slice(0, size).map((r) => r.id))
  await page.context().close()
})

test('selecting a responder shows their week with a block per shift', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', '/console')
  const responders = await openResponders(page)
  const grid = page.getByTestId('shift-week')
  await page.getByTestId('responder-pick').waitFor()

  // From the table: the responder with the most shifts, found by name.
  const busiest = [...responders].sort((a, b) => b.shifts.length - a.shifts.length)[0]
  assert.ok(busiest.shifts.length > 0, 'somebody has shifts')
  await page.getByTestId('responders-search').fill(busiest.display_name)
  await page.getByTestId(`responder-row-${busiest.id}`).click()
  assert.equal((await page.getByTestId('responder-panel-name').textContent()).trim(), busiest.display_name)
  assert.equal(await grid.getByTestId('shift-block').count(), busiest.shifts.length)
  for (const day of [1, 2, 3, 4, 5, 6, 7]) {
    assert.equal(await grid.getByTestId(`shift-day-${day}`).getByTestId('shift-block').count(), busiest.shifts.filter((s) => s.weekday === day).length, `weekday ${day}`)
  }
  await shot(page, 'responders-selected')

  // From the map: hovering a dot names the responder, clicking selects them.
  await page.getByTestId('responders-search').fill('')
  const other = responders.find((r) => r.id !== busiest.id && r.shifts.length !== busiest.shifts.length && hasPosition(r))
  assert.ok(other, 'a second responder with a different week')
  const dot = page.getByTestId(`responder-dot-${other.id}`)
  await dot.dispatchEvent('mouseenter')
  assert.equal((await page.getByTestId('responder-map-tip').textContent()).trim(), other.display_name)
  await dot.dispatchEvent('click')
  await page.getByTestId('responder-panel-name').getByText(other.display_name, { exact: true }).waitFor()
  assert.equal(await grid.getByTestId('shift-block').count(), other.shifts.length)
  assert.match(await page.getByTestId(`responder-row-${other.id}`).locator('xpath=ancestor::tr').getAttribute('class'), /chosen/)
  await page.context().close()
})

test('a new call appears on the open alarm list and its row opens the alarm screen', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', '/console')
  // Seniors the other browser tests leave alone: they use page 2, and page 3's tiers A and B.
  const list = await (await page.request.get(`${BASE}/api/v1/seniors?status=active&per_page=100&page=3`)).json()
  const quiet = list.items.filter((s) => !['A', 'B'].includes(s.tier))
  assert.ok(quiet.length >= 5, 'enough demo seniors')
  const senior = quiet.at(-2)
  const device = await (await page.request.post(`${BASE}/api/v1/devices`, { data: { senior_id: senior.id, label: 'e2e alarm list' } })).json()
  const communities = await (await page.request.get(`${BASE}/api/v1/communities`)).json()

  await page.getByTestId('menu-/console/alarms').click()
  await page.waitForURL(`${BASE}/console/alarms`)
  await page.locator('[data-testid=live-indicator][data-state=open]').waitFor()
  await page.getByTestId('alarms-total').waitFor()

  // The bell is pressed: the call is on the open list without a reload.
  const { alarm_id, task_id } = await pressBell(device.api_key)
  const link = page.getByTestId(`alarm-row-${alarm_id}`)
  await link.getByText(senior.name, { exact: true }).waitFor()
  const open = await (await page.request.get(`${BASE}/api/v1/alarms?open=true&per_page=20`)).json()
  assert.ok(open.items.some((a) => a.id === alarm_id), 'the API lists it as open')
  await page.getByTestId('alarms-total').getByText(new RegExp(`\\b${open.total}\\b`)).waitFor()
  assert.equal(await page.getByTestId('alarms-table').locator('[data-testid^=alarm-row-]').and(page.locator('a')).count(), open.items.length)
  const row = link.locator('xpath=ancestor::tr')
  const alarm = await (await page.request.get(`${BASE}/api/v1/alarms/${alarm_id}`)).json()
  await row.getByText(communities.find((c) => c.id === alarm.community_id).name).waitFor()
  await shot(page, 'alarm-list-open')

  // Its row opens the alarm screen, and back restores the list.
  await link.click()
  await page.waitForURL(`${BASE}/console/alarms/${alarm_id}`)
  assert.equal((await page.getByTestId('alarm-senior').textContent()).trim(), senior.name)
  await page.goBack()
  await page.waitForURL(`${BASE}/console/alarms`)
  await link.waitFor()

  // Closed, it leaves the open list and is on the full one with its outcome.
  const task = await (await page.request.get(`${BASE}/api/v1/tasks/${task_id}`)).json()
  const closed = await page.request.post(`${BASE}/api/v1/alarms/${alarm_id}/close`, { data: { version: task.version, outcome: 'false_alarm' } })
  assert.equal(closed.status(), 200, await closed.text())
  await link.waitFor({ state: 'detached' })
  await page.getByTestId('alarms-view-all').click()
  await page.waitForURL(`${BASE}/console/alarms?view=all`)
  await link.locator('xpath=ancestor::tr').getByTestId('alarm-row-outcome').getByText('误报').waitFor()
  const all = await (await page.request.get(`${BASE}/api/v1/alarms?per_page=20`)).json()
  await page.getByTestId('alarms-total').getByText(new RegExp(`\\b${all.total}\\b`)).waitFor()
  await shot(page, 'alarm-list-all')
  await page.context().close()
})
