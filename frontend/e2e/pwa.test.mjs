// Browser tests of the phone app as an installable app that works on a poor signal,
// against a running Linli with the demo district (LINLI_BASE_URL): the manifest and
// its icons, the service worker taking control and opening /app offline, steps at
// the door queued offline and synced once (and only once) back online, and pushes
// shown as notifications. Set LINLI_SCREENSHOTS=dir to keep screenshots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, DISTRICT, PASSWORD, PHONE, apiAs, json, logIn as logInAt, shot, useBrowser } from './support.mjs'

const { freshPage: phonePage } = useBrowser({ viewport: PHONE, isMobile: true, hasTouch: true, ...DISTRICT })

/** Logs a responder in to the phone app and waits for its first screen. */
async function logIn(page, username) {
  await logInAt(page, username, '/app')
  await page.getByTestId('landing-responder').waitFor()
}

/** Width and height from a PNG's IHDR chunk, or null when the bytes are not a PNG. */
function pngSize(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
  if (bytes.length < 24 || signature.some((b, i) => bytes[i] !== b)) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset)
  return { width: view.getUint32(16), height: view.getUint32(20) }
}

async function fetchPng(path) {
  const r = await fetch(new URL(path, BASE))
  assert.equal(r.status, 200, path)
  return pngSize(new Uint8Array(await r.arrayBuffer()))
}

/** Waits until the worker has stored its copies of the given API answers. */
async function cachedPaths(page, wanted) {
  for (let i = 0; i < 50; i++) {
    const paths = await page.evaluate(async () => {
      if (!(await caches.has('linli-api'))) return []
      return (await (await caches.open('linli-api')).keys()).map((r) => new URL(r.url).pathname)
    })
    if (wanted.every((p) => paths.includes(p))) return paths
    await page.waitForTimeout(200)
  }
  assert.fail(`the worker did not cache ${wanted.join(', ')}`)
}

/** The actions waiting in the phone's IndexedDB queue (read or replaced from the page). */
function readQueue(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('linli-offline')
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const get = open.result.transaction('kv').objectStore('kv').get('queue')
          get.onsuccess = () => resolve(get.result ?? [])
          get.onerror = () => reject(get.error)
        }
      }),
  )
}

function writeQueue(page, items) {
  return page.evaluate(
    (items) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('linli-offline')
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const tx = open.result.transaction('kv', 'readwrite')
          tx.objectStore('kv').put(items, 'queue')
          tx.oncomplete = () => resolve()
          tx.onerror = () => reject(tx.error)
        }
      }),
    items,
  )
}

test('the app is installable: a manifest with real icons, linked from every page', async () => {
  const html = await (await fetch(`${BASE}/app`)).text()
  const manifestHref = html.match(/<link rel="manifest" href="([^"]+)"/)?.[1]
  assert.ok(manifestHref, 'index.html links the manifest')
  assert.match(html, /<meta name="theme-color" content="#1f6f5c"/)
  const appleIcon = html.match(/<link rel="apple-touch-icon" href="([^"]+)"/)?.[1]
  assert.ok(appleIcon, 'an apple-touch-icon')
  assert.deepEqual(await fetchPng(appleIcon), { width: 180, height: 180 })

  const response = await fetch(new URL(manifestHref, BASE))
  assert.equal(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /^application\/(manifest\+)?json/)
  const manifest = await response.json()
  assert.equal(manifest.name, '邻里 Linli')
  assert.ok(manifest.short_name && manifest.short_name.length <= 12, 'a short name that fits under an icon')
  assert.equal(manifest.start_url, '/app')
  assert.equal(manifest.scope, '/')
  assert.equal(manifest.display, 'standalone')
  assert.equal(manifest.lang, 'zh-CN')
  assert.match(manifest.theme_color, /^#[0-9a-f]{6}$/i)
  assert.match(manifest.background_color, /^#[0-9a-f]{6}$/i)

  // Each icon is a PNG of the size it claims; 192, 512 and a maskable one are there.
  for (const icon of manifest.icons) {
    assert.equal(icon.type, 'image/png', icon.src)
    const [w, h] = icon.sizes.split('x').map(Number)
    assert.deepEqual(await fetchPng(icon.src), { width: w, height: h }, icon.src)
  }
  const any = manifest.icons.filter((i) => (i.purpose ?? 'any').split(' ').includes('any')).map((i) => i.sizes)
  assert.ok(any.includes('192x192') && any.includes('512x512'), `icons for any use: ${any}`)
  assert.ok(
    manifest.icons.some((i) => (i.purpose ?? '').split(' ').includes('maskable')),
    'a maskable icon',
  )
})

test('the service worker takes over /app, which then opens offline; logging out forgets the copies', async () => {
  const page = await phonePage()
  await logIn(page, 'caregiver')
  await page.evaluate(() => navigator.serviceWorker.ready)
  await page.reload()
  await page.getByTestId('landing-responder').waitFor()
  assert.equal(await page.evaluate(() => !!navigator.serviceWorker.controller), true, 'the worker controls the page after a reload')
  const cached = await cachedPaths(page, ['/api/v1/auth/me', '/api/v1/me/tasks', '/api/v1/me/offers', '/api/v1/me/surveys'])
  assert.deepEqual(cached.sort(), ['/api/v1/auth/me', '/api/v1/me/offers', '/api/v1/me/surveys', '/api/v1/me/tasks'], 'nothing but those four is kept')

  // No network at all: the app shell and the last lists still come up.
  await page.context().setOffline(true)
  assert.equal(await page.evaluate(() => fetch('/api/v1/me/responder').then(() => 'answered', () => 'failed')), 'failed', 'the browser really is offline')
  await page.reload()
  await page.getByTestId('landing-responder').waitFor()
  await page.getByTestId('offline-banner').getByText(/没有网络：显示的是 \d\d:\d\d 保存的内容/).waitFor()
  await page.locator('[data-testid=offers-empty], [data-testid^=offer-]').first().waitFor()
  await shot(page, 'pwa-offline')

  // Back online, logging out drops the copies (and would drop anything queued).
  await page.context().setOffline(false)
  await page.getByTestId('offline-banner').waitFor({ state: 'detached' })
  await page.getByTestId('tab-mine').click()
  await page.getByTestId('logout').click()
  await page.waitForURL(`${BASE}/login`)
  assert.equal(await page.evaluate(() => caches.has('linli-api')), false)
  assert.deepEqual(await readQueue(page), [])

  // The consoles are not for offline use: a worker's login is not kept.
  await page.locator('input[name=username]').fill('worker')
  await page.locator('input[name=password]').fill(PASSWORD)
  await page.getByTestId('submit').click()
  await page.waitForURL(`${BASE}/console`)
  await page.reload()
  await page.getByTestId('landing-worker').waitFor()
  await page.waitForTimeout(300)
  assert.equal(await page.evaluate(async () => !!(await caches.match('/api/v1/auth/me'))), false)
  await page.context().close()
})

test('the notification switch is offered when the server pushes, and hidden when it cannot', async () => {
  const page = await phonePage()
  // This server pushes: it serves its VAPID key, and the switch is offered, off
  // until the user turns it on.
  const asked = page.waitForResponse('**/api/v1/push/vapid-public-key')
  await logIn(page, 'caregiver')
  const served = await asked
  assert.equal(served.status(), 200)
  const { public_key: key } = await served.json()
  assert.equal(Buffer.from(key, 'base64url').length, 65, 'an uncompressed P-256 point')
  await page.locator('[data-testid=push-card][data-state=off]').waitFor()
  assert.match(await page.getByTestId('push-card').textContent(), /接收新任务通知/)

  // A server without a key (503) or without push (404): no switch to promise what cannot come.
  for (const status of [503, 404]) {
    await page.route('**/api/v1/push/vapid-public-key', (route) =>
      route.fulfill({ status, contentType: 'application/problem+json', body: JSON.stringify({ status, title: 'no push' }) }),
    )
    await page.reload()
    await page.getByTestId('duty-card').waitFor()
    await page.waitForTimeout(300)
    assert.equal(await page.getByTestId('push-card').count(), 0, `hidden on ${status}`)
    await page.unroute('**/api/v1/push/vapid-public-key')
  }
  await page.context().close()
})

test('a push shows a notification with accept and decline, which a withdrawal replaces', async () => {
  const page = await phonePage()
  await page.context().grantPermissions(['notifications'], { origin: BASE })
  await logIn(page, 'caregiver')
  await page.evaluate(() => navigator.serviceWorker.ready)
  // What a push service would deliver, handed to the worker through DevTools.
  const cdp = await page.context().newCDPSession(page)
  const registrations = new Promise((resolve) => cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => e.registrations.length && resolve(e.registrations)))
  await cdp.send('ServiceWorker.enable')
  const { registrationId } = (await registrations).find((r) => r.scopeURL === `${BASE}/`)
  const push = (data) => cdp.send('ServiceWorker.deliverPushMessage', { origin: BASE, registrationId, data: JSON.stringify(data) })
  const shown = () =>
    page.evaluate(async () =>
      (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, actions: n.actions.map((a) => a.action) })),
    )
  async function until(check) {
    for (let i = 0; i < 50; i++) {
      const list = await shown()
      if (check(list)) return list
      await page.waitForTimeout(100)
    }
    return shown()
  }

  await push({ type: 'offer', task_id: 987001, kind: 'emergency', distance_m: 320 })
  let list = await until((l) => l.length === 1)
  assert.deepEqual(list, [{ title: '新任务邀请：紧急呼叫', body: '距您约 320 米', tag: 'task-987001', actions: ['accept', 'decline'] }])

  await push({ type: 'offer_withdrawn', task_id: 987001 })
  list = await until((l) => l.length === 1 && l[0].actions.length === 0)
  assert.deepEqual(list, [{ title: '新任务邀请：紧急呼叫', body: '已被他人接单', tag: 'task-987001', actions: [] }])
  await page.context().close()
})

test('steps taken offline wait on the phone, sync in order once online, and replaying them adds nothing', async () => {
  const worker = await apiAs('worker')
  const admin = await apiAs('admin')

  // A senior the other browser tests leave alone, and a responder who could answer their
  // bell: emergency-trained, serving there, not at capacity; only off duty or without a
  // fresh position, which the phone fixes below.
  const seniors = (await json(await worker.get('/api/v1/seniors?status=active&per_page=100&page=4'))).items
  const responders = await json(await worker.get('/api/v1/responders'))
  const fixable = new Set(['off_duty', 'stale_position', 'no_position', 'too_far'])
  let senior, responder
  for (const s of seniors) {
    const { candidates, excluded } = await json(await worker.get(`/api/v1/seniors/${s.id}/candidates?kind=emergency`))
    const ids = [...candidates.map((c) => c.responder_id), ...excluded.filter((e) => e.reasons.every((r) => fixable.has(r))).map((e) => e.responder_id)]
    // Volunteers answer whenever they are on duty; the demo's own pair serve other tests.
    responder = responders.find((r) => ids.includes(r.id) && r.kind === 'volunteer' && !['张海燕', '李文博'].includes(r.display_name))
    if (responder) {
      senior = s
      break
    }
  }
  assert.ok(senior && responder, 'a senior with a volunteer who could answer their bell')
  let username
  for (let p = 1; !username; p++) {
    const users = await json(await admin.get(`/api/v1/users?role=volunteer&per_page=200&page=${p}`))
    assert.ok(users.items.length, `the login of responder ${responder.id}`)
    username = users.items.find((u) => u.id === responder.user_id)?.username
  }

  // The volunteer, at the senior's door, goes on duty: the phone reports its position.
  const home = { latitude: senior.latitude, longitude: senior.longitude, accuracy: 8 }
  const page = await phonePage({ geolocation: home, permissions: ['geolocation'] })
  await logIn(page, username)
  await page.evaluate(() => navigator.serviceWorker.ready)
  const duty = page.getByTestId('duty-switch')
  await duty.waitFor()
  if ((await duty.getAttribute('aria-checked')) !== 'true') await duty.click()
  await page.getByTestId('location-status').getByText(/位置已于 \d\d:\d\d 上报/).waitFor()

  // The senior's bell is pressed; the volunteer is offered the emergency and accepts it.
  const device = await json(await worker.post('/api/v1/devices', { data: { senior_id: senior.id, label: 'e2e pwa' } }))
  const bell = await fetch(`${BASE}/api/v1/alarms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${device.api_key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: `e2e-pwa-${Date.now()}-${Math.random().toString(16).slice(2)}` }),
  })
  assert.equal(bell.status, 202, await bell.clone().text())
  const { task_id } = await bell.json()
  const offered = await json(await worker.get(`/api/v1/tasks/${task_id}`))
  assert.ok(
    offered.offers.some((o) => o.responder_id === responder.id),
    `the volunteer is offered the emergency: ${JSON.stringify(offered.offers)}`,
  )
  await page.getByTestId(`accept-${task_id}`).click({ timeout: 25000 })
  const held = page.getByTestId(`my-task-${task_id}`)
  await held.getByText(senior.name).waitFor()
  await cachedPaths(page, ['/api/v1/auth/me', '/api/v1/me/tasks'])

  // The signal drops. Checking in and completing wait on the phone, in order.
  await page.context().setOffline(true)
  await page.getByTestId('offline-banner').waitFor()
  await held.getByTestId('task-check-in').click()
  await page.locator('[data-testid=sync-banner][data-count="1"]').waitFor()
  await held.getByTestId('my-task-status').getByText('服务中').waitFor()
  await held.getByTestId('task-complete').click()
  await page.getByTestId('outcome-helped_at_home').click()
  await page.getByTestId('sheet-submit').click()
  await page.locator('[data-testid=sync-banner][data-count="2"]').waitFor()
  assert.match(await page.getByTestId('sync-banner').textContent(), /2 项操作等待同步/)
  await held.getByTestId('my-task-waiting').waitFor()
  await shot(page, 'pwa-queued')

  // Nothing reached the server; the queue survives the app being closed and reopened offline.
  let task = await json(await worker.get(`/api/v1/tasks/${task_id}`))
  assert.equal(task.status, 'accepted')
  const queue = await readQueue(page)
  assert.deepEqual(
    queue.map((q) => [q.kind, q.task_id]),
    [
      ['check_in', task_id],
      ['complete', task_id],
    ],
  )
  assert.equal(queue[0].fix.latitude, home.latitude, 'the position was taken at the tap')
  await page.reload()
  await page.locator('[data-testid=sync-banner][data-count="2"]').waitFor()

  // The signal is back: the queue goes out by itself and empties.
  await page.context().setOffline(false)
  await page.getByTestId('sync-banner').waitFor({ state: 'detached', timeout: 20000 })
  await held.waitFor({ state: 'detached' })
  task = await json(await worker.get(`/api/v1/tasks/${task_id}`))
  const kinds = (t) => t.events.map((e) => e.kind)
  assert.equal(task.status, 'completed')
  assert.equal(task.outcome, 'helped_at_home')
  assert.equal(kinds(task).filter((k) => k === 'check_in').length, 1, kinds(task).join(' '))
  assert.equal(kinds(task).filter((k) => k === 'completed').length, 1, kinds(task).join(' '))
  const checkIn = task.events.find((e) => e.kind === 'check_in')
  assert.equal(checkIn.latitude, home.latitude)
  assert.equal(checkIn.longitude, home.longitude)

  // The same two actions replayed again (as if their answers had been lost) change nothing.
  await writeQueue(page, queue)
  await page.reload()
  await page.getByText('已同步 2 项操作').waitFor()
  assert.deepEqual(await readQueue(page), [])
  const again = await json(await worker.get(`/api/v1/tasks/${task_id}`))
  assert.deepEqual(kinds(again), kinds(task))
  assert.equal(again.version, task.version)

  await page.context().close()
  await worker.dispose()
  await admin.dispose()
})
