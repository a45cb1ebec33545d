// Browser tests of the worker console's Today and alarm screen against a running
// Linli with the demo district (LINLI_BASE_URL): a new emergency call appears on Today
// without a reload and sounds the tone; the worker opens it, assigns a responder from
// the candidate list, records the call to 120 and closes it with the outcome.
// Set LINLI_SCREENSHOTS=dir to keep screenshots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, logIn, pressBell, quietSeniors, shot, useBrowser } from './support.mjs'

const { freshPage } = useBrowser()

test('a worker sees a new alarm arrive on the console live, assigns from the candidate list and closes it with an outcome', async () => {
  const page = await freshPage()
  // The counts of the last Today the page read: visits turn late by the minute, so the
  // badge is held to what the page was shown, not to a later read of its own.
  let shown
  // (A read still arriving when the page closes is of no interest.)
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/console/today' && r.ok()) r.json().then((b) => (shown = b.counts), () => {})
  })
  await logIn(page, 'worker', '/console')
  const senior = (await quietSeniors(page)).at(-3)
  const device = await (await page.request.post(`${BASE}/api/v1/devices`, { data: { senior_id: senior.id, label: 'e2e console' } })).json()

  // Today, listening.
  const today = page.getByTestId('today')
  await today.waitFor()
  await today.locator('[data-testid=live-indicator][data-state=open]').waitFor()
  // The late badge counts every late visit once, the missed ones among them (the page
  // renders a moment after its read arrives).
  const badge = async () => ((await page.getByTestId('today-late-count').count()) ? await page.getByTestId('today-late-count').textContent() : '')
  const expected = () => (shown?.late_visits > 0 ? String(shown.late_visits) : '')
  for (let i = 0; i < 50 && !(shown && (await badge()) === expected()); i++) await page.waitForTimeout(100)
  assert.ok(shown, 'the page read Today')
  assert.equal(await badge(), expected())
  const before = shown.alarms
  await page.evaluate(() => (window.stillTheSamePage = true))

  // The bell is pressed: the call appears at the top with its escalation clock, and the tone sounds.
  const { alarm_id, task_id } = await pressBell(device.api_key)
  const card = page.getByTestId(`today-alarm-${alarm_id}`)
  await card.waitFor()
  await card.getByText(senior.name).waitFor()
  assert.match(await card.getByTestId('today-alarm-waiting').textContent(), /已等待/)
  assert.match(await card.getByTestId('today-alarm-next').textContent(), /后扩大派单范围|后通知家属|下一步即将执行/)
  assert.equal(await page.getByTestId('today-alarm-count').textContent(), String(before + 1))
  assert.equal(await today.getAttribute('data-chimes'), '1', 'one tone for one new call')
  assert.equal(await page.evaluate(() => window.stillTheSamePage), true, 'the console was not reloaded')
  await shot(page, 'console-today-alarm')

  // The alarm screen: who, the offers, who can go.
  await card.click()
  await page.waitForURL(`${BASE}/console/alarms/${alarm_id}`)
  assert.equal((await page.getByTestId('alarm-senior').textContent()).trim(), senior.name)
  const found = await (await page.request.get(`${BASE}/api/v1/seniors/${senior.id}/candidates?kind=emergency`)).json()
  assert.ok(found.candidates.length > 0, 'somebody on duty can go')
  const pick = found.candidates[0]
  const responders = await (await page.request.get(`${BASE}/api/v1/responders`)).json()
  const name = responders.find((r) => r.id === pick.responder_id).display_name
  await page.getByTestId('alarm-candidates').getByText(name).first().waitFor()
  assert.match(await page.getByTestId('alarm-holder').textContent(), /还没有人接单/)
  await shot(page, 'alarm-screen')

  // Assigned by hand from the list.
  await page.getByTestId(`assign-${pick.responder_id}`).click()
  await page.getByTestId('alarm-holder').getByText(name).waitFor()
  await page.getByTestId('alarm-event-assigned').first().waitFor()
  const assigned = await (await page.request.get(`${BASE}/api/v1/tasks/${task_id}`)).json()
  assert.equal(assigned.assignee_id, pick.responder_id)
  assert.equal(assigned.status, 'accepted')

  // The call to 120 is recorded on the timeline.
  await page.getByTestId('call-120-log').click()
  await page.getByTestId('alarm-event-call_logged').waitFor()
  assert.match(await page.getByTestId('alarm-event-call_logged').textContent(), /120.*已接通/)

  // Closing needs an outcome.
  await page.getByTestId('close-submit').click()
  assert.match(await page.getByTestId('close-error').textContent(), /请选择处置结果/)
  await page.getByTestId('close-outcome-sent_to_hospital').click()
  await page.getByTestId('close-notes').fill('120 已送医，女儿陪同')
  await page.getByTestId('close-submit').click()
  await page.getByTestId('alarm-outcome').getByText('送医').waitFor()
  const closed = await (await page.request.get(`${BASE}/api/v1/alarms/${alarm_id}`)).json()
  assert.equal(closed.stage, 'closed')
  assert.equal(closed.outcome, 'sent_to_hospital')
  assert.equal((await (await page.request.get(`${BASE}/api/v1/tasks/${task_id}`)).json()).status, 'completed')
  await shot(page, 'alarm-closed')

  // Back on Today it is gone.
  await page.getByText('返回今日工作').click()
  await page.getByTestId('today').waitFor()
  await page.getByTestId('today-alarms').waitFor()
  assert.equal(await page.getByTestId(`today-alarm-${alarm_id}`).count(), 0)
  await page.context().close()
})

test('the alarm tone can be muted, and the choice is kept', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', '/console')
  const today = page.getByTestId('today')
  await today.locator('[data-testid=live-indicator][data-state=open]').waitFor()
  await page.getByTestId('alarm-sound').locator('.el-switch').click()
  await page.reload()
  await page.getByTestId('today').locator('[data-testid=live-indicator][data-state=open]').waitFor()
  assert.equal(await page.getByTestId('alarm-sound').getAttribute('data-on'), 'false')

  const senior = (await quietSeniors(page)).at(-4)
  const device = await (await page.request.post(`${BASE}/api/v1/devices`, { data: { senior_id: senior.id, label: 'e2e mute' } })).json()
  const { alarm_id } = await pressBell(device.api_key)
  await page.getByTestId(`today-alarm-${alarm_id}`).waitFor()
  assert.equal(await page.getByTestId('today').getAttribute('data-chimes'), '0', 'muted: no tone')
  // Put it back for the other tests and close the call so it does not linger.
  await page.getByTestId('alarm-sound').locator('.el-switch').click()
  const alarm = await (await page.request.get(`${BASE}/api/v1/alarms/${alarm_id}`)).json()
  const task = await (await page.request.get(`${BASE}/api/v1/tasks/${alarm.task_id}`)).json()
  const res = await page.request.post(`${BASE}/api/v1/alarms/${alarm_id}/close`, { data: { version: task.version, outcome: 'false_alarm' } })
  assert.equal(res.status(), 200)
  await page.getByTestId(`today-alarm-${alarm_id}`).waitFor({ state: 'detached' })
  await page.context().close()
})
