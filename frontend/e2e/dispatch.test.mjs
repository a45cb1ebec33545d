// Browser tests of dispatch against a running Linli with the demo district
// (LINLI_BASE_URL): a worker registers an emergency bell on a senior's profile, the
// bell is pressed (a plain HTTP call with the device key) and the alarm appears on the
// dispatch board through the event stream, without a reload; a stale decision in the
// task drawer is refused with a reload; a volunteer finishes an assigned alarm on the
// phone app; a caregiver goes on duty. Set LINLI_SCREENSHOTS=dir to keep screenshots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, PHONE, logIn, pressBell, quietSeniors, shot, useBrowser } from './support.mjs'

const { freshPage } = useBrowser()

test('a worker registers an emergency bell and sees its alarm arrive on the dispatch board live', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', '/console')
  const senior = (await quietSeniors(page)).at(-1)

  // The bell, on the senior's profile: its key is shown once.
  await page.goto(`${BASE}/console/seniors/${senior.id}`)
  await page.getByTestId('profile-card').waitFor()
  await page.getByTestId('register-bell').click()
  await page.getByTestId('bell-label').fill('卧室急救铃')
  await page.getByTestId('bell-submit').click()
  const key = (await page.getByTestId('bell-key').textContent()).trim()
  assert.ok(key.length > 20, `a device key: ${key}`)
  await shot(page, 'bell-key')
  await page.getByTestId('bell-done').click()
  await page.getByTestId('bell-dialog').waitFor({ state: 'hidden' })

  // The board, from the console home's tile, listening.
  await page.getByTestId('menu-/console').click()
  await page.getByTestId('board-link').click()
  await page.waitForURL(`${BASE}/console/board`)
  await page.locator('[data-testid=live-indicator][data-state=open]').waitFor()
  await page.evaluate(() => (window.stillTheSamePage = true))

  // The bell is pressed; the alarm arrives through the event stream.
  const { alarm_id, task_id } = await pressBell(key)
  const card = page.getByTestId(`alarm-${alarm_id}`)
  await card.waitFor()
  await card.getByText(senior.name).waitFor()
  assert.match(await card.getByTestId('alarm-waiting').textContent(), /已等待/)
  assert.equal(await page.evaluate(() => window.stillTheSamePage), true, 'the board was not reloaded')
  await shot(page, 'board-alarm')

  // Its task, with what happened so far.
  await card.getByTestId(`alarm-open-${alarm_id}`).click()
  await page.waitForURL(new RegExp(`task=${task_id}`))
  const timeline = page.getByTestId('task-timeline')
  await timeline.waitFor()
  assert.match(await page.getByTestId('task-title').textContent(), new RegExp(senior.name))
  assert.match(await timeline.getByTestId('event-created').textContent(), /创建\s*急救铃/)
  await shot(page, 'task-drawer')
  await page.context().close()
})

test('a stale decision in the task drawer is refused with a reload, and the volunteer finishes the alarm on the phone', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', '/console')
  const senior = (await quietSeniors(page)).at(-2)
  const responders = await (await page.request.get(`${BASE}/api/v1/responders`)).json()
  const caregiver = responders.find((r) => r.display_name === '张海燕')
  const volunteer = responders.find((r) => r.display_name === '李文博')
  assert.ok(caregiver && volunteer, 'the demo caregiver and volunteer serve the worker’s communities')
  const device = await (await page.request.post(`${BASE}/api/v1/devices`, { data: { senior_id: senior.id, label: 'e2e' } })).json()
  const { alarm_id, task_id } = await pressBell(device.api_key)

  await page.goto(`${BASE}/console/board?task=${task_id}`)
  await page.getByTestId('task-timeline').waitFor()
  await page.locator('[data-testid=live-indicator][data-state=open]').waitFor()

  // The worker starts assigning to the volunteer...
  await page.getByTestId('task-assign').click()
  await page.getByTestId('assign-form').waitFor()
  await page.getByTestId('assign-responder').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: '李文博', visible: true }).first().click()
  await page.getByTestId('action-reason').fill('离得近，已电话确认')

  // ...while another worker gives the task to the caregiver.
  const current = await (await page.request.get(`${BASE}/api/v1/tasks/${task_id}`)).json()
  const other = await page.request.post(`${BASE}/api/v1/tasks/${task_id}/assign`, {
    data: { version: current.version, responder_id: caregiver.id, reason: 'e2e: 另一位工作人员先派了单' },
  })
  assert.equal(other.status(), 200)
  await page.getByTestId('task-assignee').getByText('张海燕').waitFor()

  // The version the worker decided on is stale: nothing is saved, and they can reload.
  await page.getByTestId('action-confirm').click()
  const conflict = page.getByTestId('task-conflict')
  await conflict.waitFor()
  assert.match(await conflict.textContent(), /被他人更改.*已接单/)
  await shot(page, 'task-conflict')
  await page.getByTestId('task-reload').click()
  await conflict.waitFor({ state: 'detached' })
  assert.match(await page.getByTestId('task-assignee').textContent(), /张海燕/)

  // Deciding again on what is there now works.
  await page.getByTestId('task-assign').click()
  await page.getByTestId('assign-responder').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: '李文博', visible: true }).first().click()
  await page.getByTestId('action-reason').fill('离得近，已电话确认')
  await page.getByTestId('action-confirm').click()
  await page.getByTestId('task-assignee').getByText('李文博').waitFor()
  await page.getByTestId('task-timeline').getByTestId('event-unassigned').waitFor()
  assert.equal(await page.getByTestId('task-timeline').getByTestId('event-assigned').count(), 2)

  // The volunteer, at the senior's door, finishes it on the phone.
  const home = await (await page.request.get(`${BASE}/api/v1/seniors/${senior.id}`)).json()
  const phone = await freshPage({
    viewport: PHONE,
    isMobile: true,
    hasTouch: true,
    geolocation: { latitude: home.latitude, longitude: home.longitude, accuracy: 10 },
    permissions: ['geolocation'],
  })
  await logIn(phone, 'volunteer', '/app')
  await phone.getByTestId('tab-tasks').click()
  const held = phone.getByTestId(`my-task-${task_id}`)
  await held.getByText(senior.name).waitFor()
  await held.getByTestId('task-start').click()
  await held.getByTestId('my-task-status').getByText('在路上').waitFor()
  await held.getByTestId('task-check-in').click()
  await held.getByTestId('my-task-status').getByText('服务中').waitFor()
  await shot(phone, 'app-on-site')
  await held.getByTestId('task-complete').click()
  await phone.getByTestId('outcome-helped_at_home').click()
  await phone.getByTestId('sheet-submit').click()
  await held.waitFor({ state: 'detached' })
  await phone.context().close()

  // The board hears of it: the task is completed and the alarm is closed.
  await page.getByTestId('task-status').getByText('已完成').waitFor()
  assert.match(await page.getByTestId('task-outcome').textContent(), /居家处置/)
  await page.getByTestId('task-timeline').getByTestId('event-check_in').waitFor()
  await page.getByTestId(`alarm-${alarm_id}`).waitFor({ state: 'detached' })
  await shot(page, 'task-completed')
  await page.context().close()
})

test('a caregiver goes on duty on the phone and sees the open offers', async () => {
  const page = await freshPage({
    viewport: PHONE,
    isMobile: true,
    hasTouch: true,
    geolocation: { latitude: 39.1272, longitude: 117.1917, accuracy: 15 },
    permissions: ['geolocation'],
  })
  await logIn(page, 'caregiver', '/app')
  const duty = page.getByTestId('duty-switch')
  await duty.waitFor()
  // The demo starts the caregiver on duty: go off first, then on.
  if ((await duty.getAttribute('aria-checked')) === 'true') {
    await duty.click()
    await page.locator('[data-testid=duty-switch][aria-checked=false]').waitFor()
    assert.equal((await (await page.request.get(`${BASE}/api/v1/me/responder`)).json()).on_duty, false)
  }
  await duty.click()
  await page.locator('[data-testid=duty-switch][aria-checked=true]').waitFor()
  assert.equal((await (await page.request.get(`${BASE}/api/v1/me/responder`)).json()).on_duty, true)

  // While on duty the phone's position is sent.
  await page.getByTestId('location-status').getByText(/位置已于 \d\d:\d\d 上报/).waitFor()
  await page.locator('[data-testid=offers-empty], [data-testid^=offer-]').first().waitFor()
  await shot(page, 'app-on-duty')
  await page.context().close()
})

test('when someone else took an offer first, the phone says so and drops it', async () => {
  const page = await freshPage({ viewport: PHONE, isMobile: true, hasTouch: true })
  // One offer, answered by the server as it answers a lost race.
  let served = 0
  await page.route('**/api/v1/me/offers', (route) =>
    route.fulfill({
      json:
        served++ === 0
          ? [{ task_id: 987654, kind: 'emergency', community_id: 1, distance_m: 320, round: 1, offered_at: new Date().toISOString(), priority: 0 }]
          : [],
    }),
  )
  await page.route('**/api/v1/tasks/987654/accept', (route) =>
    route.fulfill({
      status: 409,
      contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'https://linli.dev/problems/already-taken', title: 'The request conflicts with the current state', status: 409 }),
    }),
  )
  await logIn(page, 'volunteer', '/app')
  const offer = page.getByTestId('offer-987654')
  await offer.waitFor()
  assert.match(await offer.textContent(), /紧急呼叫.*距您约 320 米/s)
  await page.getByTestId('accept-987654').click()
  await page.getByText('已被其他人接走了').waitFor()
  await offer.waitFor({ state: 'detached' })
  await page.context().close()
})
