// Browser tests of the meal route sheets against a running Linli with the demo district
// (LINLI_BASE_URL): a worker opens the page from the dispatch board, plans today's
// rounds of their canteen and gets one sheet per courier trip, printed without the
// console around it; and the page says when there is no canteen or nothing to deliver.
// Set LINLI_SCREENSHOTS=dir to keep screenshots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, logIn, shot, useBrowser } from './support.mjs'

// The server's planner may think for up to 10 seconds.
const PLANNING_MS = 45000
// The district's clock, so "today" is the server's.
const { freshPage } = useBrowser()

function districtToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date())
}

/**
 * Today's meal tasks exist once the server has caught up the daily job it missed
 * while the demo was being made (it does so in the background at start).
 */
async function waitForTodaysMeals(page, today) {
  for (let i = 0; i < 60; i++) {
    const tasks = await (await page.request.get(`${BASE}/api/v1/tasks?date=${today}&kind=meal_delivery&per_page=1`)).json()
    if (tasks.total > 0) return
    await page.waitForTimeout(500)
  }
  assert.fail(`no meal tasks for ${today}`)
}

test("a worker plans today's meal rounds of their canteen and prints one sheet per courier trip", async () => {
  const page = await freshPage()
  await logIn(page)
  const today = districtToday()
  // The demo's worker serves the community of 劝业场街道老年助餐中心; its lunch plans
  // run every day of the week (a few of them on Sundays too), so today has meals.
  const canteens = (await (await page.request.get(`${BASE}/api/v1/stations`)).json()).filter((s) => s.kind === 'canteen')
  assert.ok(canteens.length >= 1, 'the demo worker has a canteen')
  await waitForTodaysMeals(page, today)

  // From the dispatch board. Nothing is planned before a canteen is chosen.
  await page.getByTestId('menu-/console/board').click()
  await page.getByTestId('routes-link').click()
  await page.waitForURL(`${BASE}/console/routes`)
  await page.getByTestId('routes-choose').waitFor()
  assert.ok(await page.getByTestId('routes-print').isDisabled(), 'nothing to print yet')
  // Tomorrow is the default: the evening job makes tomorrow's tasks.
  await page.locator('[data-testid=route-day-tomorrow].is-active').waitFor()

  await page.getByTestId('route-day-today').click()
  await page.waitForURL(new RegExp(`date=${today}`))
  await page.getByTestId('route-station').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: canteens[0].name, visible: true }).first().click()
  await page.waitForURL(new RegExp(`station=${canteens[0].id}`))
  await page.getByTestId('routes-loading').waitFor()

  // The summary, then a sheet per courier trip with its stops in order.
  await page.getByTestId('routes-summary').waitFor({ timeout: PLANNING_MS })
  assert.match(await page.getByTestId('routes-summary').textContent(), new RegExp(`${canteens[0].name}.*${today}`))
  const meals = Number(await page.getByTestId('routes-meals').textContent())
  const trips = Number(await page.getByTestId('routes-trips').textContent())
  const unplanned = Number(await page.getByTestId('routes-unplanned-count').textContent())
  assert.ok(meals > 0, `meals today: ${meals}`)
  const sheets = page.getByTestId('route-sheet')
  assert.equal(await sheets.count(), trips)
  assert.ok(trips >= 1, 'at least one trip')
  const first = sheets.first()
  assert.match(await first.textContent(), /第 [12] 趟.*出发\s*\d\d:\d\d.*返回\s*\d\d:\d\d.*全程\s*[\d.]+ (公里|米)/s)
  const stops = first.getByTestId('route-stop')
  assert.ok((await stops.count()) >= 1, 'the first sheet has stops')
  assert.deepEqual(
    (await first.getByTestId('stop-order').allTextContents()).map(Number),
    Array.from({ length: await stops.count() }, (_, i) => i + 1),
  )
  const etas = await first.getByTestId('stop-eta').allTextContents()
  assert.ok(etas.every((x) => /^\d\d:\d\d$/.test(x.trim())), `arrival times: ${etas}`)
  assert.deepEqual([...etas].sort(), etas, 'stops in order of arrival')
  // Every meal is on a sheet or listed as not planned.
  assert.equal((await page.getByTestId('route-stop').count()) + unplanned, meals)
  await shot(page, 'route-sheets')

  // Printing: the button prints...
  await page.evaluate(() => {
    window.print = () => (window.printed = (window.printed ?? 0) + 1)
  })
  await page.getByTestId('routes-print').click()
  assert.equal(await page.evaluate(() => window.printed), 1)
  // ...and on paper only the sheets are left, each trip on a page of its own.
  await page.emulateMedia({ media: 'print' })
  assert.equal(await page.getByTestId('side-menu').isVisible(), false, 'no menu on paper')
  assert.equal(await page.getByTestId('logout').isVisible(), false, 'no header on paper')
  assert.equal(await page.getByTestId('routes-toolbar').isVisible(), false, 'no filters on paper')
  assert.equal(await page.getByTestId('routes-print').isVisible(), false, 'no buttons on paper')
  assert.ok(await first.isVisible())
  const style = await first.evaluate((e) => {
    const s = getComputedStyle(e)
    return { breakBefore: s.breakBefore, color: s.color, background: s.backgroundColor }
  })
  assert.deepEqual(style, { breakBefore: 'page', color: 'rgb(0, 0, 0)', background: 'rgb(255, 255, 255)' })
  await shot(page, 'route-sheets-print')
  await page.emulateMedia({ media: 'screen' })
  assert.ok(await page.getByTestId('side-menu').isVisible())

  // Publishing gives every meal on a sheet to its courier, and says how many.
  await page.getByTestId('routes-publish').click()
  await page.locator('.el-message-box').getByRole('button', { name: '发布给送餐员' }).click()
  const message = page.locator('.el-message--success')
  await message.waitFor()
  assert.match(await message.textContent(), /已派出 \d+ 份餐，\d+ 份保持原样，已通知 \d+ 位送餐员/)
  const planned = await (await page.request.get(`${BASE}/api/v1/routing/meals?station_id=${canteens[0].id}&date=${today}`)).json()
  for (const sheet of planned.sheets) {
    // Meals of other communities on the same round are theirs to publish.
    for (const stop of sheet.stops.filter((x) => x.visible)) {
      const task = await (await page.request.get(`${BASE}/api/v1/tasks/${stop.task_id}`)).json()
      assert.ok(task.assignee_id !== null && ['accepted', 'en_route', 'on_site', 'completed'].includes(task.status), `meal ${stop.task_id}: ${task.status}`)
    }
  }
  await page.context().close()
})

test('the route sheet page says when there is no canteen, and when a day has no meals', async () => {
  const page = await freshPage()
  await logIn(page)

  // A worker whose communities have no canteen.
  const stations = (url) => url.pathname === '/api/v1/stations'
  await page.route(stations, (route) =>
    route.fulfill({ json: [{ id: 99, community_id: 1, kind: 'service_station', name: '驿站', address: '和平区', latitude: 39.1, longitude: 117.2, meal_capacity: null }] }),
  )
  await page.goto(`${BASE}/console/routes`)
  await page.getByTestId('routes-no-canteen').waitFor()
  assert.match(await page.getByTestId('routes-no-canteen').textContent(), /没有助餐点/)
  await page.unroute(stations)

  // A day without meals to send out (as the server answers before the evening job).
  await page.route((url) => url.pathname === '/api/v1/routing/meals', (route) => {
    const url = new URL(route.request().url())
    route.fulfill({
      json: { date: url.searchParams.get('date'), station_id: 1, station_name: '助餐中心', meals: 0, couriers: 3, sheets: [], unplanned: [], elapsed_ms: 0 },
    })
  })
  await page.goto(`${BASE}/console/routes?station=1`)
  await page.getByTestId('routes-empty').waitFor()
  assert.match(await page.getByTestId('routes-empty').textContent(), /没有需要从这里送出的餐.*定时任务/s)
  assert.ok(await page.getByTestId('routes-print').isDisabled(), 'nothing to print')
  await page.context().close()
})
