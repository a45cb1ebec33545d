// Browser test of the time bank against a running Linli with the demo district
// (LINLI_BASE_URL): a volunteer completes an emergency visit (the steps at the door
// are plain API calls, as the phone sends them; the check-in is sent from the
// offline queue with the time it happened), the worker confirms the visit in the
// task drawer of the console, and the volunteer's balance shows the new hours, in
// the console's account page and on the volunteer's phone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, useBrowser } from './support.mjs'

// The test makes its contexts itself.
const browser = useBrowser()

async function call(method, path, token, body) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`)
  return text ? JSON.parse(text) : null
}

async function token(username) {
  const response = await fetch(`${BASE}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'linli-demo' }),
  })
  assert.equal(response.status, 200)
  return (await response.json()).token
}

test('a volunteer completes a visit, the worker confirms it, and the balance shows the new hours', async () => {
  const worker = await token('worker')
  const volunteer = await token('volunteer')
  const me = await call('GET', '/api/v1/me/responder', volunteer)
  const before = (await call('GET', '/api/v1/me/timebank', volunteer)).account
  const seniors = await call('GET', `/api/v1/seniors?community_id=${me.community_ids[0]}&per_page=1`, worker)
  const senior = seniors.items[0]
  const device = await call('POST', '/api/v1/devices', worker, { senior_id: senior.id })
  const alarm = await call('POST', '/api/v1/alarms', device.api_key, { event_id: `timebank-${Date.now()}` })
  const task = await call('GET', `/api/v1/tasks/${alarm.task_id}`, worker)
  await call('POST', `/api/v1/tasks/${task.id}/assign`, worker, { version: task.version, reason: '就近志愿者', responder_id: me.id })
  const arrived = new Date(Date.now() - 45 * 60 * 1000).toISOString()
  await call('POST', `/api/v1/tasks/${task.id}/check-in`, volunteer, { latitude: senior.latitude, longitude: senior.longitude, recorded_at: arrived })
  await call('POST', `/api/v1/tasks/${task.id}/complete`, volunteer, { outcome: 'helped_at_home' })

  // The volunteer's phone shows the balance as it was.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' })
  phone.setDefaultTimeout(15000)
  const app = await phone.newPage()
  await app.goto(`${BASE}/login`)
  await app.locator('input[name=username]').fill('volunteer')
  await app.locator('input[name=password]').fill('linli-demo')
  await app.getByTestId('submit').click()
  await app.waitForURL(`${BASE}/app`)
  await app.getByTestId('tab-timebank').click()
  await app.locator(`[data-testid=timebank-balance][data-minutes="${before.balance_minutes}"]`).waitFor()

  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' })
  context.setDefaultTimeout(15000)
  const page = await context.newPage()
  await page.goto(`${BASE}/login`)
  await page.locator('input[name=username]').fill('worker')
  await page.locator('input[name=password]').fill('linli-demo')
  await page.getByTestId('submit').click()
  await page.waitForURL(`${BASE}/console`)
  await page.goto(`${BASE}/console/board?date=all&kind=emergency&status=completed`)
  await page.getByTestId(`task-open-${task.id}`).click()
  await page.getByTestId('task-confirm').click()
  await page.getByTestId('task-confirmed').waitFor()

  // 45 minutes at the door, an emergency counts double: 1 h 30 more.
  const after = (await call('GET', '/api/v1/me/timebank', volunteer)).account
  assert.equal(after.balance_minutes, before.balance_minutes + 90)
  await page.goto(`${BASE}/console/timebank/${after.id}`)
  const shown = await page.getByTestId('timebank-balance').textContent()
  const h = Math.floor(after.balance_minutes / 60)
  const m = String(after.balance_minutes % 60).padStart(2, '0')
  assert.equal(shown.trim(), `${h}:${m}`)
  await page.getByTestId('timebank-entries').getByText('+1:30').first().waitFor()
  await context.close()

  // Back on the phone, opening the tab again shows the new hours at the top.
  await app.getByTestId('tab-today').click()
  await app.getByTestId('tab-timebank').click()
  const balance = app.locator(`[data-testid=timebank-balance][data-minutes="${after.balance_minutes}"]`)
  await balance.waitFor()
  const hours = Math.floor(after.balance_minutes / 60)
  const minutes = after.balance_minutes % 60
  const text = minutes ? (hours ? `${hours} 小时 ${minutes} 分` : `${minutes} 分钟`) : `${hours} 小时`
  assert.match(await balance.textContent(), new RegExp(text))
  const newest = app.locator('[data-testid^=entry-]').first()
  assert.match(await newest.textContent(), /服务存入.*\+1 小时 30 分.*任务 #\d+/s)
  await phone.close()
})
