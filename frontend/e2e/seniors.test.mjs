// Browser test of the seniors pages against a running Linli with the demo district
// (LINLI_BASE_URL): the list and its filters, registering a senior (an invalid ID
// number is reported next to its field by the server, then fixed), the profile and
// recording an assessment; a meal plan's canteen; editing a demo senior, their
// contacts and consents, and marking a fall that puts them on the reassessment-due
// list. Set LINLI_SCREENSHOTS=dir to keep screenshots of each page.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE, DESKTOP, logIn, shot, useBrowser } from './support.mjs'

// The browser's own clock, unless a test asks for the district's.
const { freshPage } = useBrowser({ viewport: DESKTOP, locale: 'zh-CN' })

/** A resident ID number (GB 11643): region, birth date, sequence, MOD 11-2 check character. */
function idNumber(birth, sequence) {
  const body = `120101${birth.replaceAll('-', '')}${String(sequence).padStart(3, '0')}`
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = [...body].reduce((s, c, i) => s + Number(c) * weights[i], 0)
  return body + '10X98765432'[sum % 11]
}

function random(min, max) {
  return min + Math.floor(Math.random() * (max - min + 1))
}

/** Opens an Element Plus select and picks the visible option with this text. */
async function choose(page, testid, text) {
  await page.getByTestId(testid).click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: text, visible: true }).first().click()
}

test('a worker browses seniors, registers one, fixes an invalid ID number and records an assessment', async () => {
  const page = await freshPage()
  await logIn(page)

  // The list, from the side menu.
  await page.getByTestId('menu-/console/seniors').click()
  await page.waitForURL(`${BASE}/console/seniors`)
  await page.locator('.senior-row').first().waitFor()
  assert.ok((await page.locator('.senior-row').count()) >= 20, 'a full first page of seniors')
  assert.match(await page.getByTestId('seniors-table').textContent(), /社区/)
  assert.match(await page.getByTestId('seniors-total').textContent(), /共 \d+ 人/)
  await shot(page, 'seniors-list')

  // Filtering by tier is done by the server.
  await choose(page, 'filter-tier', 'A级')
  await page.waitForURL(/tier=A/)
  await page.locator('.senior-row').first().waitFor()
  const tiers = await page.locator('.senior-row .el-tag').filter({ hasText: /^[A-D]级/ }).allTextContents()
  assert.ok(tiers.length > 0 && tiers.every((x) => x.startsWith('A级')), `only tier A: ${tiers}`)

  // The registration form.
  await page.getByTestId('register-senior').click()
  await page.waitForURL(`${BASE}/console/seniors/new`)
  const birth = `1946-${String(random(1, 12)).padStart(2, '0')}-${String(random(1, 28)).padStart(2, '0')}`
  const valid = idNumber(birth, random(100, 999))
  const wrong = valid.slice(0, 17) + (valid[17] === '1' ? '2' : '1')
  const name = `测试老人${valid.slice(14, 17)}`

  await page.getByTestId('f-name').fill(name)
  await page.getByTestId('f-id-number').fill(wrong)
  const date = page.locator('input[name=birth_date]')
  await date.fill(birth)
  await date.press('Enter')
  await page.getByTestId('f-gender-female').click()
  await page.getByTestId('f-phone').fill(`139${random(10000000, 99999999)}`)
  await choose(page, 'f-community', '兴安路社区')
  await page.getByTestId('f-address').fill('和平区兴安路88号2门301室')
  await page.getByTestId('f-latitude').locator('input').fill('39.123456')
  await page.getByTestId('f-latitude').locator('input').press('Tab')
  await page.getByTestId('f-longitude').locator('input').fill('117.190123')
  await page.getByTestId('f-longitude').locator('input').press('Tab')
  await choose(page, 'f-living', '独居')
  await choose(page, 'f-economic', '低保')
  await page.getByTestId('f-diet').fill('低盐软食')
  await page.getByTestId('add-contact').click()
  await page.getByTestId('c-name-0').fill('张明')
  await page.getByTestId('c-relation-0').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: /^儿子$/, visible: true }).first().click()
  await page.getByTestId('c-phone-0').fill(`138${random(10000000, 99999999)}`)

  // The server rejects the check digit; the message stands next to the ID field.
  await page.getByTestId('f-submit').click()
  const idError = page.locator('[data-field=id_number] .el-form-item__error')
  await idError.waitFor()
  assert.match(await idError.textContent(), /校验位不正确/)
  assert.equal(new URL(page.url()).pathname, '/console/seniors/new')
  await shot(page, 'senior-form-error')

  await page.getByTestId('f-id-number').fill(valid)
  await idError.waitFor({ state: 'detached' })
  await page.getByTestId('f-submit').click()
  await page.waitForURL(/\/console\/seniors\/\d+$/)
  const id = Number(new URL(page.url()).pathname.split('/').pop())

  // The profile of the new senior, not yet assessed.
  await page.getByTestId('profile-card').waitFor()
  assert.equal(await page.getByTestId('senior-profile-title').textContent(), name)
  assert.match(await page.getByTestId('id-number').textContent(), /^120101\*+\d{3}[\dX]$/)
  await page.getByTestId('no-assessment').waitFor()
  assert.match(await page.getByTestId('contacts-card').textContent(), /张明/)

  // Record an assessment: 10+0+5+5+10+10+5+10+0+0 = 55, moderate dependency.
  await page.getByTestId('record-assessment').click()
  await page.getByTestId('assessment-dialog').waitFor()
  const scores = { feeding: 10, bathing: 0, grooming: 5, dressing: 5, bowels: 10, bladder: 10, toilet_use: 5, transfers: 10, mobility: 0, stairs: 0 }
  for (const [item, value] of Object.entries(scores)) await page.getByTestId(`barthel-${item}-${value}`).click()
  await page.getByTestId('spmsq-errors').locator('input').fill('1')
  await page.getByTestId('spmsq-errors').locator('input').press('Tab')
  assert.match(await page.getByTestId('assessment-preview').textContent(), /55.*中度依赖/)
  await shot(page, 'assessment-dialog')
  await page.getByTestId('assessment-save').click()

  await page.getByTestId('dependency-level').waitFor()
  assert.equal((await page.getByTestId('barthel-total').textContent()).trim(), '55/100')
  assert.equal((await page.getByTestId('dependency-level').textContent()).trim(), '中度依赖')
  assert.equal((await page.getByTestId('cognition-level').textContent()).trim(), '认知正常')

  // The tier shown is the server's: moderate dependency while living alone is A.
  const overview = await (await page.request.get(`${BASE}/api/v1/seniors/${id}/overview`)).json()
  assert.equal(overview.assessment.barthel_total, 55)
  assert.equal(overview.tier, 'A')
  await page.getByTestId('tier').waitFor()
  assert.equal((await page.getByTestId('tier').textContent()).trim(), 'A')
  await shot(page, 'senior-profile')

  // The full ID number is shown after giving a reason.
  await page.getByTestId('reveal-id').click()
  await page.getByTestId('reveal-reason').fill('核对高龄津贴申请材料')
  await page.getByTestId('reveal-confirm').click()
  await page.getByTestId('hide-id').waitFor()
  assert.equal(await page.getByTestId('id-number').textContent(), valid)
  await page.context().close()
})

test('registering the same ID number twice links to the existing senior', async () => {
  const page = await freshPage()
  await logIn(page)
  const list = await (await page.request.get(`${BASE}/api/v1/seniors?per_page=1`)).json()
  const existing = list.items[0]
  const reveal = await page.request.post(`${BASE}/api/v1/seniors/${existing.id}/reveal-id-number`, {
    data: { reason: 'e2e: duplicate registration check' },
  })
  const { id_number } = await reveal.json()
  const birth = `${id_number.slice(6, 10)}-${id_number.slice(10, 12)}-${id_number.slice(12, 14)}`

  await page.goto(`${BASE}/console/seniors/new`)
  await page.getByTestId('f-name').fill('重复登记')
  await page.getByTestId('f-id-number').fill(id_number)
  const date = page.locator('input[name=birth_date]')
  await date.fill(birth)
  await date.press('Enter')
  await page.getByTestId('f-gender-male').click()
  await page.getByTestId('f-phone').fill('13900000000')
  await choose(page, 'f-community', '滨江道社区')
  await page.getByTestId('f-address').fill('和平区滨江道1号')
  await page.getByTestId('use-centre').click()
  await choose(page, 'f-living', '与配偶同住')
  await choose(page, 'f-economic', '普通')
  await page.getByTestId('f-submit').click()
  await page.getByTestId('duplicate').waitFor()
  await page.getByTestId('duplicate-link').click()
  await page.waitForURL(`${BASE}/console/seniors/${existing.id}`)
  await page.getByTestId('profile-card').waitFor()
  assert.equal(await page.getByTestId('senior-profile-title').textContent(), existing.name)
  await page.context().close()
})

test('required fields are checked before anything is sent', async () => {
  const page = await freshPage()
  await logIn(page)
  await page.goto(`${BASE}/console/seniors/new`)
  let posted = false
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/v1/seniors')) posted = true
  })
  await page.getByTestId('f-submit').click()
  await page.locator('[data-field=name] .el-form-item__error').waitFor()
  assert.match(await page.locator('[data-field=name] .el-form-item__error').textContent(), /请填写姓名/)
  assert.match(await page.locator('[data-field=community_id] .el-form-item__error').textContent(), /请选择所属社区/)
  assert.equal(posted, false)
  await page.context().close()
})

test('the seniors list filters by status and flag, kept in the address', async () => {
  const page = await freshPage()
  await logIn(page)
  const count = async (query) => (await (await page.request.get(`${BASE}/api/v1/seniors?per_page=1&${query}`)).json()).total
  const hospitalised = await count('status=hospitalised')
  const hospitalisedAlone = await count('status=hospitalised&flag=alone')
  const totalIs = (n) =>
    page.waitForFunction((text) => document.querySelector('[data-testid=seniors-total]')?.textContent.trim() === text, `共 ${n} 人`)

  await page.goto(`${BASE}/console/seniors`)
  await page.locator('.senior-row').first().waitFor()
  const all = Number((await page.getByTestId('seniors-total').textContent()).match(/\d+/)[0])
  assert.ok(all > hospitalised, `${all} seniors, ${hospitalised} in hospital`)

  await choose(page, 'filter-status', '住院中')
  await page.waitForURL(/status=hospitalised/)
  await totalIs(hospitalised)
  await choose(page, 'filter-flag', '独居')
  await page.waitForURL(/flag=alone/)
  assert.match(page.url(), /status=hospitalised/)
  await totalIs(hospitalisedAlone)

  // A reload keeps the filters; resetting drops them.
  await page.reload()
  await totalIs(hospitalisedAlone)
  await page.getByTestId('seniors-reset').click()
  await page.waitForURL(`${BASE}/console/seniors`)
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=seniors-total]')?.textContent.match(/\d+/)?.[0]) >= n, all)
  await page.context().close()
})

test("a meal plan's canteen is chosen from the canteens, and is required", async () => {
  const page = await freshPage()
  await logIn(page)
  const canteens = (await (await page.request.get(`${BASE}/api/v1/stations`)).json()).filter((s) => s.kind === 'canteen')
  const list = await (await page.request.get(`${BASE}/api/v1/seniors?status=active&per_page=1&page=3`)).json()
  await page.goto(`${BASE}/console/seniors/${list.items[0].id}`)
  await page.getByTestId('plan-add').click()
  await page.getByTestId('plan-dialog').waitFor()
  let posted = false
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/plans')) posted = true
  })

  // Nothing chosen: the field says so and nothing is sent.
  await page.getByTestId('plan-save').click()
  const error = page.locator('[data-field=station_id] .el-form-item__error')
  await error.waitFor()
  assert.equal((await error.textContent()).trim(), '必填')
  assert.equal(posted, false)

  // The choices are the canteens, by name; choosing one clears the message.
  await page.getByTestId('plan-station').click()
  const options = page.locator('.el-select-dropdown__item').filter({ visible: true })
  await options.first().waitFor()
  assert.deepEqual((await options.allTextContents()).map((x) => x.trim()), canteens.map((c) => c.name))
  await options.first().click()
  await error.waitFor({ state: 'detached' })
  await page.getByTestId('plan-dialog').getByText(canteens[0].name).waitFor()
  await page.context().close()
})

/** Today in the district's time zone, where the server decides what is due. */
function districtToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date())
}

test('a worker edits a senior, adds a contact, records a consent and marks a fall that makes the reassessment due', async () => {
  // The browser keeps the district's clock, as the console's users do, so "today" agrees with the server's.
  const page = await freshPage({ timezoneId: 'Asia/Shanghai' })
  await logIn(page)
  const today = districtToday()
  const list = await (await page.request.get(`${BASE}/api/v1/seniors?status=active&per_page=100`)).json()
  // Not the newest (another test reads it), and not already due.
  const senior = list.items.slice(1).find((s) => s.reassessment_due_on && s.reassessment_due_on > today)
  assert.ok(senior, 'a demo senior whose reassessment is not due yet')

  await page.goto(`${BASE}/console/seniors/${senior.id}`)
  await page.getByTestId('profile-card').waitFor()
  assert.equal(await page.getByTestId('reassess-due').count(), 0)

  // The edit page, prefilled; identity fields are read-only.
  await page.getByTestId('edit-senior').click()
  await page.waitForURL(`${BASE}/console/seniors/${senior.id}/edit`)
  const phone = page.getByTestId('f-phone')
  await phone.waitFor()
  assert.equal(await phone.inputValue(), senior.phone)
  assert.equal(await page.getByTestId('f-name').inputValue(), senior.name)
  assert.ok(await page.getByTestId('f-id-number').isDisabled(), 'the ID number is read-only')
  const patches = []
  page.on('request', (r) => {
    if (r.method() === 'PATCH') patches.push(r.postDataJSON())
  })

  // An invalid phone: the server's message stands next to the field.
  await phone.fill('12345')
  await page.getByTestId('f-submit').click()
  const phoneError = page.locator('[data-field=phone] .el-form-item__error')
  await phoneError.waitFor()
  assert.match(await phoneError.textContent(), /11 位手机号/)
  assert.equal(new URL(page.url()).pathname, `/console/seniors/${senior.id}/edit`)
  await shot(page, 'senior-edit-error')

  const newPhone = `137${random(10000000, 99999999)}`
  await phone.fill(newPhone)
  await phoneError.waitFor({ state: 'detached' })
  await page.getByTestId('f-submit').click()
  await page.waitForURL(`${BASE}/console/seniors/${senior.id}`)
  await page.getByTestId('profile-card').getByText(newPhone).waitFor()
  // Only the changed field and the version read were sent.
  assert.deepEqual(patches.at(-1), { version: senior.version, phone: newPhone })

  // A contact: the server rejects the phone in the dialog, then takes the fixed one.
  await page.getByTestId('contact-add').click()
  await page.getByTestId('contact-dialog').waitFor()
  await page.getByTestId('contact-name').fill('赵小红')
  await page.getByTestId('contact-relation').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: /^女儿$/, visible: true }).first().click()
  await page.getByTestId('contact-phone').fill('123')
  await page.getByTestId('contact-keyholder').click()
  await page.getByTestId('contact-save').click()
  const contactError = page.locator('[data-testid=contact-dialog] [data-field=phone] .el-form-item__error')
  await contactError.waitFor()
  assert.match(await contactError.textContent(), /11 位手机号/)
  await page.getByTestId('contact-phone').fill(`158${random(10000000, 99999999)}`)
  await page.getByTestId('contact-save').click()
  await page.getByTestId('contact-dialog').waitFor({ state: 'hidden' })
  const added = page.getByTestId('contacts-card').locator('li').filter({ hasText: '赵小红' })
  await added.waitFor()
  assert.match(await added.textContent(), /女儿/)
  assert.match(await added.textContent(), /持有钥匙/)

  // A consent answered by a guardian, who must be named.
  await page.getByTestId('record-consent').click()
  await page.getByTestId('consent-dialog').waitFor()
  await choose(page, 'consent-scope', '上门服务拍照留证')
  await page.getByTestId('consent-grant').click()
  await page.getByTestId('consent-by-guardian').click()
  await page.getByTestId('consent-save').click()
  await page.locator('[data-testid=consent-dialog] [data-field=guardian_name] .el-form-item__error').waitFor()
  await page.getByTestId('consent-guardian').fill('赵小红')
  await page.getByTestId('consent-save').click()
  await page.getByTestId('consent-dialog').waitFor({ state: 'hidden' })
  const photos = page.getByTestId('consent-photos')
  await photos.getByText('同意', { exact: true }).waitFor()
  assert.match(await photos.textContent(), /监护人 赵小红 表态/)
  assert.match(await photos.textContent(), /王丽娟 记录于/)
  await page.getByTestId('consent-history-toggle').click()
  await page.getByTestId('consent-history').getByText('上门服务拍照留证').first().waitFor()
  await shot(page, 'senior-profile-records')

  // A fall: the reassessment is due today.
  await page.getByTestId('mark-change').click()
  await page.getByTestId('change-dialog').waitFor()
  await page.getByTestId('change-kind-fall').click()
  await page.getByTestId('change-note').fill('在家中卫生间跌倒，左腕轻伤')
  await page.getByTestId('change-save').click()
  await page.getByTestId('reassess-due').waitFor()
  assert.match(await page.getByTestId('reassess-due').textContent(), /今天到期/)
  await page.getByTestId('changes-card').getByText('在家中卫生间跌倒，左腕轻伤').waitFor()
  assert.match(await page.getByTestId('changes-card').textContent(), new RegExp(`${today}.*跌倒`))
  assert.match(await page.getByTestId('profile-card').textContent(), new RegExp(today))
  await shot(page, 'senior-profile-due')

  // From the console home to the reassessment-due list, where the senior now is.
  await page.getByTestId('menu-/console').click()
  await page.waitForURL(`${BASE}/console`)
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid=due-count]')?.textContent.trim() ?? ''))
  assert.ok(Number(await page.getByTestId('due-count').textContent()) >= 1)
  await page.getByTestId('due-link').click()
  await page.waitForURL(/\/console\/seniors\?due=1/)
  await page.getByTestId('seniors-search').fill(senior.name)
  await page.waitForURL(/q=/)
  const row = page.locator('.senior-row').filter({ has: page.locator(`a[href="/console/seniors/${senior.id}"]`) })
  await row.waitFor()
  assert.match(await row.getByTestId('due-on').textContent(), new RegExp(`${today}\\s*今天到期`))
  await shot(page, 'seniors-due')
  await page.context().close()
})

test('the pager moves the senior list through the pages, kept in the address', async () => {
  const page = await freshPage()
  await logIn(page, 'worker', '/console')
  await page.goto(`${BASE}/console/seniors`)
  await page.getByTestId('seniors-table').locator('.senior-row').first().waitFor()
  const second = await (await page.request.get(`${BASE}/api/v1/seniors?page=2&per_page=20`)).json()
  assert.ok(second.total > 40, `several pages of seniors: ${second.total}`)

  await page.getByTestId('seniors-pager').locator('.btn-next').click()
  await page.waitForURL(`${BASE}/console/seniors?page=2`)
  const names = page.getByTestId('seniors-table').locator('.senior-row a.name')
  await page.getByTestId('seniors-table').locator(`a[href="/console/seniors/${second.items[0].id}"]`).waitFor()
  assert.equal(await names.count(), second.items.length)

  // A larger page size starts again from page 1, and the address says so.
  await page.getByTestId('seniors-pager').locator('.el-pagination__sizes').click()
  await page.locator('.el-select-dropdown__item').filter({ hasText: '50', visible: true }).first().click()
  await page.waitForURL(`${BASE}/console/seniors?per_page=50`)
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=seniors-table] .senior-row').length === 50)
  await page.context().close()
})
