// Browser tests: log in through the real page as each role against a running Linli
// with the demo district (LINLI_BASE_URL), in Debian's chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, DESKTOP, PASSWORD, submitLogin as logIn, useBrowser } from './support.mjs'

// Pages without the district's clock, at a viewport of the test's own.
const browser = useBrowser({ locale: 'zh-CN' })
const freshPage = (viewport = DESKTOP) => browser.freshPage({ viewport })

const roles = [
  { username: 'admin', path: '/admin', heading: 'landing-admin' },
  { username: 'bureau', path: '/bureau', heading: 'landing-bureau' },
  { username: 'worker', path: '/console', heading: 'landing-worker' },
  { username: 'caregiver', path: '/app', heading: 'landing-responder', phone: true },
  { username: 'volunteer', path: '/app', heading: 'landing-responder', phone: true },
]

for (const role of roles) {
  test(`${role.username} logs in through the page and lands on ${role.path}`, async () => {
    const page = await freshPage(role.phone ? { width: 390, height: 844 } : undefined)
    await logIn(page, role.username, PASSWORD)
    await page.waitForURL(`${BASE}${role.path}`)
    await page.getByTestId(role.heading).waitFor()
    await page.context().close()
  })
}

test('a worker sees only their own communities on the console', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', PASSWORD)
  await page.waitForURL(`${BASE}/console`)
  const line = await page.getByTestId('communities').textContent()
  assert.match(line ?? '', /社区/)
  await page.context().close()
})

test('a wrong password shows an error and stays on the login page', async () => {
  const page = await freshPage()
  await logIn(page, 'bureau', 'not-the-password')
  await page.getByTestId('login-error').waitFor()
  assert.match(await page.getByTestId('login-error').textContent(), /用户名或密码不正确/)
  assert.equal(new URL(page.url()).pathname, '/login')
  await page.context().close()
})

test('an empty username is reported next to the field', async () => {
  const page = await freshPage()
  await page.goto(`${BASE}/login`)
  await page.locator('input[name=password]').fill('anything')
  await page.getByTestId('submit').click()
  await page.getByText('请填写用户名').waitFor()
  assert.equal(new URL(page.url()).pathname, '/login')
  await page.context().close()
})

test('logging out returns to the login page and guards the console', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', PASSWORD)
  await page.waitForURL(`${BASE}/console`)
  await page.getByTestId('logout').click()
  await page.waitForURL(`${BASE}/login`)
  await page.goto(`${BASE}/console`)
  await page.waitForURL(/\/login/)
  await page.context().close()
})

test('a user visiting another role\'s area is sent to their own', async () => {
  const page = await freshPage()
  await logIn(page, 'bureau', PASSWORD)
  await page.waitForURL(`${BASE}/bureau`)
  await page.goto(`${BASE}/console`)
  await page.waitForURL(`${BASE}/bureau`)
  await page.context().close()
})

test('the language switch shows English', async () => {
  const page = await freshPage()
  await page.goto(`${BASE}/login`)
  await page.getByTestId('lang-switch').click()
  await page.getByText('Log in', { exact: true }).first().waitFor()
  await page.context().close()
})

test('when the server cannot be reached the app says so and offers a retry', async () => {
  const page = await freshPage()
  await page.route('**/api/v1/auth/me', (route) => route.abort())
  await page.goto(`${BASE}/console`)
  await page.getByTestId('app-unreachable').waitFor()
  await page.unroute('**/api/v1/auth/me')
  await page.getByTestId('app-retry').click()
  await page.waitForURL(/\/login/)
  await page.context().close()
})

test('a lockout says how many minutes to wait', async () => {
  const page = await freshPage()
  await page.route('**/api/v1/auth/login', (route) =>
    route.fulfill({
      status: 429,
      headers: { 'retry-after': '540', 'content-type': 'application/problem+json' },
      body: JSON.stringify({ type: 'about:blank', title: 'Too many attempts', status: 429 }),
    }),
  )
  await logIn(page, 'worker', 'whatever')
  await page.getByTestId('login-error').waitFor()
  assert.match(await page.getByTestId('login-error').textContent(), /9 分钟/)
  await page.context().close()
})
