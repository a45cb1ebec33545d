// What the browser tests in this folder share; not a test file itself (its name
// matches none of node's test-file patterns). The running Linli they drive
// (LINLI_BASE_URL), Debian's chromium (CHROMIUM_PATH) launched once per test file,
// fresh pages, screenshots kept when LINLI_SCREENSHOTS=dir is set, logging in as a
// demo user, and a few calls against the demo district's API.
import { before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { chromium, request } from 'playwright-core'

export const BASE = process.env.LINLI_BASE_URL ?? 'http://127.0.0.1:8080'
const SHOTS = process.env.LINLI_SCREENSHOTS
/** Every demo user's password. */
export const PASSWORD = 'linli-demo'
export const DESKTOP = { width: 1366, height: 768 }
export const PHONE = { width: 390, height: 844 }
/** The district's language and clock, as the console's and the app's users have them. */
export const DISTRICT = { locale: 'zh-CN', timezoneId: 'Asia/Shanghai' }

/**
 * Launches chromium before this file's tests and closes it after them; call it once,
 * at the top level of a test file. Returns `freshPage(options)`, a page in a context
 * of its own made with `defaults` and then `options` (15 s for every wait), and
 * `newContext(options)`, the launched browser's own.
 * @param {import('playwright-core').BrowserContextOptions} [defaults]
 */
export function useBrowser(defaults = { viewport: DESKTOP, ...DISTRICT }) {
  let browser
  before(async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    })
  })
  after(async () => {
    await browser?.close()
  })
  return {
    newContext: (options) => browser.newContext(options),
    /** @param {import('playwright-core').BrowserContextOptions} [options] */
    async freshPage(options = {}) {
      const context = await browser.newContext({ ...defaults, ...options })
      context.setDefaultTimeout(15000)
      return context.newPage()
    },
  }
}

/** Keeps a screenshot as `$LINLI_SCREENSHOTS/name.png` when that is set. */
export async function shot(page, name) {
  if (!SHOTS) return
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: `${SHOTS}/${name}.png` })
}

/** Fills in and sends the login page, without waiting for where it leads. */
export async function submitLogin(page, username, password = PASSWORD) {
  await page.goto(`${BASE}/login`)
  await page.locator('input[name=username]').fill(username)
  await page.locator('input[name=password]').fill(password)
  await page.getByTestId('submit').click()
}

/** Logs a demo user in through the page and waits for their home (the worker's console by default). */
export async function logIn(page, username = 'worker', home = '/console') {
  await submitLogin(page, username)
  await page.waitForURL(`${BASE}${home}`)
}

/** An API session of its own (cookies kept), as a worker or the admin would have. */
export async function apiAs(username) {
  const api = await request.newContext({ baseURL: BASE })
  const r = await api.post('/api/v1/auth/login', { data: { username, password: PASSWORD } })
  assert.equal(r.status(), 200, await r.text())
  return api
}

/** The body of a successful API answer; anything else fails the test with what came back. */
export async function json(response) {
  assert.ok(response.ok(), `${response.url()}: ${response.status()} ${await response.text()}`)
  return response.json()
}

/** Presses the bell: what the device itself sends. */
export async function pressBell(key) {
  const response = await fetch(`${BASE}/api/v1/alarms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: `e2e-${Date.now()}-${Math.random().toString(16).slice(2)}` }),
  })
  assert.equal(response.status, 202, await response.clone().text())
  return response.json()
}

/** Active demo seniors the other browser tests leave alone (they use the newest ones). */
export async function quietSeniors(page) {
  const list = await (await page.request.get(`${BASE}/api/v1/seniors?status=active&per_page=100&page=2`)).json()
  assert.ok(list.items.length >= 10, 'enough demo seniors')
  return list.items
}
