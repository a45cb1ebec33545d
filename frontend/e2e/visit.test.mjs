// A nursing visit from offer to record, on a phone with a poor signal, against a
// running Linli with the demo district (LINLI_BASE_URL): a worker makes a one-off
// home-bed visit; the caregiver's open app shows the offer without a reload (the
// server's event stream), accepts it, opens the task (calls, map), checks in at the
// door, loses the signal, checks out and completes with vital signs, and is back
// online; the worker's drawer shows the visit completed once, with the readings.
// Set LINLI_SCREENSHOTS=dir to keep screenshots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, DISTRICT, apiAs, json, logIn, shot, useBrowser } from './support.mjs'

// The district's clock; each test gives its pages their viewport.
const { freshPage: newPage } = useBrowser(DISTRICT)

/** `YYYY-MM-DD` and `HH:MM` in Shanghai, `minutes` from now. */
function shanghai(minutes) {
  const at = new Date(Date.now() + minutes * 60_000)
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  )
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` }
}

/**
 * A visit window a nurse can take: from now on today, or a morning in the coming
 * week, whichever first has a caregiver on shift for a senior with contacts. The
 * demo's own caregiver serves other tests and is left alone.
 */
async function findVisit(worker, admin) {
  const seniors = (await json(await worker.get('/api/v1/seniors?status=active&per_page=100&page=3'))).items
  const responders = await json(await worker.get('/api/v1/responders'))
  const demo = new Set(responders.filter((r) => ['张海燕', '李文博'].includes(r.display_name)).map((r) => r.id))
  const start = shanghai(10)
  const end = shanghai(130)
  const windows = start.date === end.date ? [{ date: start.date, from: start.time, to: end.time }] : []
  for (let d = 1; d <= 7; d++) windows.push({ date: shanghai(d * 24 * 60).date, from: '09:00', to: '11:00' })
  for (const w of windows) {
    // Home-bed nursing is for tiers A and B.
    for (const s of seniors.filter((x) => ['A', 'B'].includes(x.tier)).slice(0, 20)) {
      const q = `kind=home_bed&date=${w.date}&from=${w.from}&to=${w.to}`
      const { candidates } = await json(await worker.get(`/api/v1/seniors/${s.id}/candidates?${q}`))
      const best = candidates[0]
      if (!best || demo.has(best.responder_id)) continue
      const contacts = await json(await worker.get(`/api/v1/seniors/${s.id}/contacts`))
      if (!contacts.length) continue
      let username
      for (let p = 1; !username; p++) {
        const users = await json(await admin.get(`/api/v1/users?role=caregiver&per_page=200&page=${p}`))
        if (!users.items.length) break
        username = users.items.find((u) => u.id === best.user_id)?.username
      }
      if (username) return { senior: s, window: w, nurse: best, username, contacts }
    }
  }
  assert.fail('a senior with contacts and a caregiver who could visit them')
}

test('a caregiver takes a nursing visit from offer to vital signs through a dropped signal, and the worker sees it once', async () => {
  const worker = await apiAs('worker')
  const admin = await apiAs('admin')
  const { senior, window, nurse, username, contacts } = await findVisit(worker, admin)

  // The nurse's phone is open on 今日, at the senior's door.
  const home = { latitude: senior.latitude, longitude: senior.longitude, accuracy: 8 }
  const page = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, geolocation: home, permissions: ['geolocation'] })
  await logIn(page, username, '/app')
  await page.getByTestId('offers-empty').or(page.locator('[data-testid^=offer-]').first()).waitFor()

  // The worker makes a one-off visit; it is offered to the nurse, whose open app shows
  // it within seconds, well before its 30-second poll would.
  const created = await json(
    await worker.post('/api/v1/tasks', {
      data: {
        senior_id: senior.id,
        kind: 'home_bed',
        date: window.date,
        window_start: `${window.from}:00`,
        window_end: `${window.to}:00`,
        details: { nursing_items: ['测血压', '测血糖'] },
        reason: 'e2e: 出院后加一次上门护理',
      },
    }),
  )
  const taskId = created.id
  assert.equal(created.status, 'offered')
  const offered = await json(await worker.get(`/api/v1/tasks/${taskId}`))
  assert.deepEqual(
    offered.offers.map((o) => o.responder_id),
    [nurse.responder_id],
    'offered to the best candidate',
  )
  const offer = page.getByTestId(`offer-${taskId}`)
  await offer.waitFor({ timeout: 10000 })
  await offer.getByText('家庭床位护理').waitFor()
  await shot(page, 'visit-offer')
  await page.getByTestId(`accept-${taskId}`).click()

  // The task, opened: what to do, a map link to the home, a call button for the senior
  // and each contact.
  const card = page.getByTestId(`my-task-${taskId}`)
  await card.getByText(senior.name).waitFor()
  await card.getByTestId(`open-detail-${taskId}`).click()
  const detail = page.getByTestId('task-detail')
  await detail.getByTestId('detail-senior').getByText(senior.name).waitFor()
  await detail.getByText('测血压、测血糖').waitFor()
  assert.equal(await detail.getByTestId('detail-call-senior').getAttribute('href'), `tel:${senior.phone}`)
  assert.equal(await detail.getByTestId('detail-call-contact-0').getAttribute('href'), `tel:${contacts[0].phone}`)
  assert.equal(await detail.locator('[data-testid^=detail-call-contact-]').count(), contacts.length)
  const amap = await detail.getByTestId('detail-map-amap').getAttribute('href')
  assert.ok(amap.includes(`position=${senior.longitude.toFixed(6)},${senior.latitude.toFixed(6)}`), amap)
  assert.ok(!amap.includes(encodeURIComponent(senior.name)) && !amap.includes(senior.name), 'no name leaves for the map')
  await shot(page, 'visit-detail')
  await detail.getByTestId('detail-back').locator('.van-nav-bar__left').click()
  await detail.waitFor({ state: 'hidden' })

  // At the door: check in.
  await card.getByTestId('task-check-in').click()
  await card.getByTestId('my-task-status').getByText('服务中').waitFor()

  // The signal drops. Check-out and completion, with the vital signs, wait on the phone.
  await page.context().setOffline(true)
  await page.getByTestId('offline-banner').waitFor()
  await card.getByTestId('task-check-out').click()
  await page.locator('[data-testid=sync-banner][data-count="1"]').waitFor()
  await card.getByTestId('task-complete').click()
  const sheet = page.getByTestId('task-sheet')
  await sheet.getByTestId('vitals').waitFor()
  // A slip of the finger is caught before it is queued.
  await sheet.getByTestId('vital-systolic').locator('input').fill('1350')
  await sheet.getByText('应在 60–260 mmHg 之间，请核对').waitFor()
  assert.ok(await sheet.getByTestId('sheet-submit').isDisabled())
  const readings = { systolic: '135', diastolic: '85', pulse: '72', temperature: '36.6', spo2: '97', glucose: '6.1' }
  for (const [k, v] of Object.entries(readings)) await sheet.getByTestId(`vital-${k}`).locator('input').fill(v)
  await shot(page, 'visit-vitals')
  await sheet.getByTestId('sheet-submit').click()
  await page.locator('[data-testid=sync-banner][data-count="2"]').waitFor()
  assert.equal((await json(await worker.get(`/api/v1/tasks/${taskId}`))).status, 'on_site', 'nothing sent without a signal')

  // Back online: the queue goes out by itself.
  await page.context().setOffline(false)
  await page.getByTestId('sync-banner').waitFor({ state: 'detached', timeout: 20000 })
  await card.waitFor({ state: 'detached' })

  // The worker's drawer: completed, each step once, with the readings.
  const desk = await newPage({ viewport: { width: 1366, height: 768 } })
  await logIn(desk, 'worker', '/console')
  await desk.goto(`${BASE}/console/board?task=${taskId}`)
  const drawer = desk.getByTestId('task-drawer')
  await drawer.getByTestId('task-status').getByText('已完成').waitFor()
  for (const kind of ['check_in', 'check_out', 'completed']) {
    assert.equal(await drawer.getByTestId(`event-${kind}`).count(), 1, kind)
  }
  await drawer.getByText('生命体征：血压 135/85 mmHg · 脉搏 72 次/分 · 体温 36.6 °C · 血氧 97% · 血糖 6.1 mmol/L').waitFor()
  await shot(desk, 'visit-worker')
  const task = await json(await worker.get(`/api/v1/tasks/${taskId}`))
  assert.deepEqual(task.details.vitals, { systolic: 135, diastolic: 85, pulse: 72, temperature: 36.6, spo2: 97, glucose: 6.1 })
  assert.equal(task.events.filter((e) => e.kind === 'completed').length, 1)

  await desk.context().close()
  await page.context().close()
  await worker.dispose()
  await admin.dispose()
})

test("a courier opens tomorrow's meal round on the phone: every meal they hold, in delivery order", async () => {
  const worker = await apiAs('worker')
  const admin = await apiAs('admin')
  const tomorrow = shanghai(24 * 60).date
  const canteen = (await json(await worker.get('/api/v1/stations'))).find((s) => s.kind === 'canteen')
  assert.ok(canteen, 'the worker’s communities have a canteen')
  const responders = await json(await worker.get('/api/v1/responders'))
  const courier = responders.find((r) => r.skills.includes('meal_delivery') && r.kind === 'volunteer' && !['张海燕', '李文博'].includes(r.display_name))
  assert.ok(courier, 'a volunteer courier')
  let username
  for (let p = 1; !username; p++) {
    const users = await json(await admin.get(`/api/v1/users?role=volunteer&per_page=200&page=${p}`))
    assert.ok(users.items.length, `the login of responder ${courier.id}`)
    username = users.items.find((u) => u.id === courier.user_id)?.username
  }

  // Three extra lunches for tomorrow, all given to the courier.
  const community = courier.community_ids.find((c) => c === canteen.community_id) ?? courier.community_ids[0]
  const seniors = (await json(await worker.get(`/api/v1/seniors?status=active&community_id=${community}&per_page=100&page=2`))).items
    .filter((s) => s.tier && s.tier !== 'D')
    .slice(-3)
  assert.equal(seniors.length, 3)
  const taskIds = []
  for (const s of seniors) {
    const task = await json(
      await worker.post('/api/v1/tasks', {
        data: {
          senior_id: s.id,
          kind: 'meal_delivery',
          date: tomorrow,
          window_start: '11:00:00',
          window_end: '12:30:00',
          station_id: canteen.id,
          details: { diet: 'soft', allergies: ['虾'] },
          reason: 'e2e: 家属临时出差，加送午餐',
        },
      }),
    )
    const assigned = await worker.post(`/api/v1/tasks/${task.id}/assign`, {
      data: { version: task.version, responder_id: courier.id, reason: 'e2e: 顺路一起送' },
    })
    assert.equal(assigned.status(), 200, await assigned.text())
    taskIds.push(task.id)
  }

  const page = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
  await logIn(page, username, '/app')
  await page.getByTestId('tab-round').click()
  await page.getByTestId('round-day').getByText('明天').click()
  const round = page.getByTestId(`round-${canteen.id}`)
  await round.waitFor()
  const stops = round.locator('[data-testid^=round-stop-]')
  await stops.nth(2).waitFor()
  const shown = await stops.evaluateAll((els) => els.map((e) => Number(e.dataset.testid.replace('round-stop-', ''))))
  for (const id of taskIds) assert.ok(shown.includes(id), `meal ${id} is on the round: ${shown}`)
  const etas = (await stops.locator('.eta').allTextContents()).map((t) => t.match(/\d\d:\d\d/)[0])
  assert.deepEqual(etas, [...etas].sort(), 'in delivery order')
  for (const eta of etas) assert.ok(eta >= '11:00' && eta <= '12:30', eta)
  const first = round.getByTestId(`round-stop-${taskIds[0]}`)
  await first.getByText(seniors[0].name).waitFor()
  await first.getByText('忌 虾').waitFor()
  assert.equal(await first.locator('a[href^="tel:"]').getAttribute('href'), `tel:${seniors[0].phone}`)
  await shot(page, 'round')

  await page.context().close()
  await worker.dispose()
  await admin.dispose()
})

test('a caregiver at the door takes the survey of another responder’s visit, and a low score becomes a case', async () => {
  const worker = await apiAs('worker')
  const admin = await apiAs('admin')
  const responders = await json(await worker.get('/api/v1/responders'))
  const demo = new Set(['张海燕', '李文博'])
  // In one of the worker's communities, a post-service survey waiting (the scheduled
  // jobs caught up when the server started) about a visit some other responder made,
  // and a caregiver who cleans there.
  const mine = (await json(await worker.get('/api/v1/auth/me'))).community_ids
  let caregiver, chosen
  for (const community of mine) {
    caregiver = responders.find((r) => r.kind === 'caregiver' && r.skills.includes('housekeeping') && !demo.has(r.display_name) && r.community_ids.includes(community))
    if (!caregiver) continue
    const pending = (await json(await worker.get(`/api/v1/surveys?status=pending&kind=post_service&community_id=${community}&per_page=200`))).items
    chosen = pending.find((s) => s.responder_id !== caregiver.id)
    if (chosen) break
  }
  assert.ok(caregiver && chosen, 'a caregiver and a pending post-service survey in one of the worker’s communities')
  const usernames = {}
  for (let p = 1; ; p++) {
    const users = await json(await admin.get(`/api/v1/users?role=caregiver&per_page=200&page=${p}`))
    if (!users.items.length) break
    for (const u of users.items) usernames[u.id] = u.username
  }
  const senior = await json(await worker.get(`/api/v1/seniors/${chosen.senior_id}`))

  // Today the caregiver comes to clean: the survey waits for them at this door.
  const visit = await json(
    await worker.post('/api/v1/tasks', {
      data: {
        senior_id: senior.id,
        kind: 'housekeeping',
        date: shanghai(24 * 60).date,
        window_start: '09:00:00',
        window_end: '11:00:00',
        details: { duration_minutes: 60 },
        reason: 'e2e: 加一次保洁',
      },
    }),
  )
  await json(await worker.post(`/api/v1/tasks/${visit.id}/assign`, { data: { version: visit.version, responder_id: caregiver.id, reason: 'e2e: 熟悉老人' } }))

  const page = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
  await logIn(page, usernames[caregiver.user_id], '/app')
  await page.getByTestId('tab-tasks').click()
  await page.getByTestId(`open-detail-${visit.id}`).click()
  const detail = page.getByTestId('task-detail')
  await detail.getByTestId('detail-survey').waitFor()
  await detail.getByTestId('detail-survey-start').click()
  const sheet = page.getByTestId('survey-sheet')
  await sheet.getByTestId('q-overall').waitFor()
  // Sending without answers names what is missing.
  await sheet.getByTestId('survey-submit').click()
  await sheet.getByTestId('q-overall').getByRole('alert').waitFor()
  for (const [q, v] of [['overall', 2], ['punctuality', 3], ['attitude', 2], ['quality', 2]]) await sheet.getByTestId(`a-${q}-${v}`).click()
  await sheet.getByTestId('a-comments').fill('来得太晚，老人等了很久')
  await shot(page, 'survey-in-person')
  await sheet.getByTestId('survey-submit').click()
  await page.getByText('老人不太满意，已转社区跟进处理').waitFor()
  await detail.getByTestId('detail-survey').waitFor({ state: 'detached' })

  // Recorded in person, still tied to the visit it asks about; the low score opened a case.
  const answered = (await json(await worker.get(`/api/v1/surveys?status=answered&senior_id=${senior.id}&per_page=50`))).items.find((s) => s.id === chosen.id)
  assert.ok(answered, 'the survey was answered')
  assert.equal(answered.channel, 'in_person')
  assert.equal(answered.responder_id, chosen.responder_id)
  assert.notEqual(answered.responder_id, caregiver.id, 'never the responder who served')
  const cases = (await json(await worker.get('/api/v1/cases?status=open&per_page=200'))).items
  const opened = cases.filter((c) => c.survey_id === chosen.id)
  assert.equal(opened.length, 1, 'the low score opened one case')
  assert.equal(opened[0].source, 'survey')

  await page.context().close()
  for (const c of [worker, admin]) await c.dispose()
})
