// Browser tests of surveys and cases against a running Linli with the demo district
// (LINLI_BASE_URL): a worker works through the call list, records a low score on the
// script, and finds the case it opened in their own queue; a family member answers
// through a single-use link on a phone, and the link refuses a second time.
// Set LINLI_SCREENSHOTS=dir to keep screenshots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, PHONE, logIn, shot, useBrowser } from './support.mjs'

const { freshPage } = useBrowser()

/** A day as YYYY-MM-DD in Shanghai, `days` from today. */
function shanghaiDay(days) {
  const at = new Date(Date.now() + days * 86400000)
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(at)
}

/**
 * A complaint taken by hotline and resolved with the senior's agreement: its
 * follow-up survey lands on the worker's call list two days later. Returns the survey.
 */
async function followUpSurvey(page, index) {
  const seniors = await (await page.request.get(`${BASE}/api/v1/seniors?status=active&per_page=50&page=3`)).json()
  assert.ok(seniors.items.length > index, 'enough demo seniors')
  const senior = seniors.items[index]
  const opened = await page.request.post(`${BASE}/api/v1/cases`, {
    data: { senior_id: senior.id, category: 'meals', severity: 'normal', source: 'hotline', summary: '午餐送得太晚' },
  })
  assert.equal(opened.status(), 201, await opened.text())
  const kase = await opened.json()
  const resolved = await page.request.post(`${BASE}/api/v1/cases/${kase.id}/resolve`, {
    data: { resolution: '已调整送餐顺序', senior_confirmed: true },
  })
  assert.equal(resolved.status(), 200, await resolved.text())
  const list = await (await page.request.get(`${BASE}/api/v1/surveys?kind=follow_up&status=pending&senior_id=${senior.id}`)).json()
  const survey = list.items.find((s) => s.case_id === kase.id)
  assert.ok(survey, 'a follow-up survey for the resolved case')
  assert.equal(survey.due_on, shanghaiDay(2))
  return survey
}

test('a worker works through the call list, records a low score and finds the new case in their queue', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', '/console')
  const survey = await followUpSurvey(page, 4)

  await page.goto(`${BASE}/console/surveys?date=${shanghaiDay(2)}`)
  await page.getByTestId('calls-table').waitFor()
  const row = page.getByTestId(`call-${survey.id}`)
  await row.waitFor()
  await shot(page, 'call-list')
  await row.click()
  const dialog = page.getByTestId('call-dialog')
  await dialog.getByTestId('q-overall').waitFor()
  // The script is read out; the senior answers 1 out of 5 and says it is not solved.
  await dialog.getByTestId('answer-submit').click()
  await dialog.getByText('请回答这个问题').first().waitFor()
  await dialog.getByTestId('a-overall-1').click()
  await dialog.getByTestId('a-resolved-false').click()
  await dialog.getByTestId('a-comments').fill('饭菜还是凉的，送餐还是很晚')
  await shot(page, 'call-script')
  await dialog.getByTestId('answer-submit').click()
  const opened = page.getByTestId('case-opened')
  await opened.waitFor()
  const caseId = (await opened.textContent()).match(/#(\d+)/)[1]
  assert.ok(Number(caseId) > 0)
  await page.getByTestId(`call-${survey.id}`).waitFor({ state: 'detached' })

  // The case is in the worker's own queue ("mine" by default), and its timeline opens.
  await page.goto(`${BASE}/console/cases`)
  const table = page.getByTestId('cases-table')
  await table.waitFor()
  const caseRow = table.locator('tr', { hasText: `处理回访 #${survey.id}` })
  await caseRow.waitFor()
  assert.match(await caseRow.textContent(), /严重/, 'a serious case: the senior said it is not solved')
  await shot(page, 'case-queue')
  await caseRow.click()
  const drawer = page.getByTestId('case-drawer')
  await drawer.getByTestId('case-timeline').waitFor()
  assert.match(await drawer.getByTestId('case-timeline').textContent(), /登记/)
  await page.context().close()
})

test('a family link opens on a phone, takes the answers once, then refuses', async () => {
  const worker = await freshPage()
  await logIn(worker, 'worker', '/console')
  const survey = await followUpSurvey(worker, 5)
  const made = await worker.request.post(`${BASE}/api/v1/surveys/${survey.id}/family-link`)
  assert.equal(made.status(), 201)
  const link = await made.json()
  await worker.context().close()

  // The family member has no account: a fresh phone browser.
  const phone = await freshPage({ viewport: PHONE, isMobile: true, hasTouch: true })
  await phone.goto(`${BASE}${link.path}`)
  await phone.getByTestId('family-page').waitFor()
  await phone.getByTestId('q-overall').waitFor()
  assert.equal(new URL(phone.url()).pathname, link.path, 'no detour to the login page')
  const width = await phone.evaluate(() => document.documentElement.scrollWidth)
  assert.ok(width <= PHONE.width, `fits the phone: ${width}px`)
  await phone.getByTestId('a-overall-5').click()
  await phone.getByTestId('a-resolved-true').click()
  await shot(phone, 'family-link')
  await phone.getByTestId('family-submit').click()
  await phone.getByText('谢谢！您的回答已收到。').waitFor()
  await phone.reload()
  await phone.getByText('这个链接已经用过了，谢谢。').waitFor()
  await phone.context().close()
})
