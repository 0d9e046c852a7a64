import { mkdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import t from 'tap'
import { launchChromium } from './fixtures/browser.js'
import { APP_ROOT, appBehindFaultProxy, tempDir } from './fixtures/helpers.js'

// DEMO_SCREENSHOTS=docs (pnpm --filter demo screenshots) writes the README's pictures; otherwise a temp dir.
const SCREENSHOTS = process.env.DEMO_SCREENSHOTS

const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? ''
const count = async (page: Page, selector: string) => Number((await text(page, selector)).replace(/\D/g, ''))

/** Waits, in the page, until the element's text is a number of at least `min`. */
function waitForCount(page: Page, selector: string, min: number, timeout = 15_000) {
  const value = `Number(document.querySelector(${JSON.stringify(selector)})?.textContent?.replace(/\\D/g, '') || -1)`
  return page.waitForFunction(`${value} >= ${min}`, undefined, { timeout })
}

/** Waits until the page shows the connection in one of `states` (the pill's data-state). */
function waitForState(page: Page, role: 'publish' | 'consume', states: string[], timeout = 15_000) {
  const selector = `#conn-${role}:is(${states.map((state) => `[data-state="${state}"]`).join(', ')})`
  return page.locator(selector).waitFor({ timeout })
}

t.test('the live page, in Chromium: orders flowing, a broker cut shown and recovered, without a reload', async (t) => {
  const { app, proxy } = await appBehindFaultProxy(t, 'page')
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const placeOrder = (sku: string) =>
    fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: 'ada', items: [{ sku, quantity: 1 }] }),
    })

  const started = Date.now()
  const phases: string[] = []
  const phase = (name: string) => phases.push(`${name} ${((Date.now() - started) / 1_000).toFixed(1)} s`)
  const browser = await launchChromium(t)
  phase('launched')
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(err.message))
  let loads = 0
  page.on('load', () => {
    loads += 1
  })
  await page.goto(`${base}/`)
  await page.locator('#feed[data-state="live"]').waitFor()
  await waitForState(page, 'publish', ['connected'])
  await waitForState(page, 'consume', ['connected'])
  await waitForCount(page, '#processed', 0)
  phase('page live')
  t.equal(await count(page, '#processed'), 0, 'the page opens on a new store: nothing processed yet')
  t.ok(await page.locator('#broker-banner').isHidden(), 'no outage banner while the broker is there')

  // 30 orders through the API, a flaky and a poison one through the page's buttons.
  const answers = await Promise.all(Array.from({ length: 30 }, (_, n) => placeOrder(`A-${n}`)))
  t.same(new Set(answers.map((answer) => answer.status)), new Set([202]), 'the API accepts the 30 orders')
  await page.click('#post-flaky')
  await page.click('#post-poison')
  await page.locator('#answers li', { hasText: 'a poison order: 1 × 202' }).waitFor()
  await waitForCount(page, '#processed', 31)
  t.equal(await count(page, '#placed'), 32, 'placed: the 30, the flaky and the poison order')
  t.equal(await count(page, '#processed'), 31, 'processed rises on the same page: the 30 and the flaky one (retried)')
  await waitForCount(page, '#dead-lettered', 1)
  t.equal(await count(page, '#dead-lettered'), 1, 'the poison order is dead-lettered after its three attempts')
  const dlq = page.locator(`#queues tr[data-queue="${app.names.processQueue}.dlq"] td.num`).first()
  t.equal(await dlq.textContent(), '1', 'and its dead-letter queue shows the message')

  phase('orders shown')
  // The broker away: cut every socket and refuse new ones. The page says so, and keeps working.
  proxy.refuse()
  await waitForState(page, 'publish', ['reconnecting', 'connecting', 'down'])
  await waitForState(page, 'consume', ['reconnecting', 'connecting', 'down'])
  await page.locator('#broker-banner').waitFor({ state: 'visible' })
  phase('outage shown')
  t.match(await text(page, '#broker-banner'), /RabbitMQ is unreachable/, 'the page shows the outage')
  for (const role of ['publish', 'consume']) {
    const shown = await text(page, `#conn-${role}`)
    t.notMatch(shown, /connected/, `the ${role} connection shows it: ${shown}`)
  }
  // Posted during the outage, it waits in the publisher's buffer; its 202 comes once the broker is back.
  const duringOutage = placeOrder('B-1')
  await page.locator('#queues td.num', { hasText: '–' }).first().waitFor()
  const shots = SCREENSHOTS ? resolve(APP_ROOT, SCREENSHOTS) : tempDir(t)
  const outageShot = join(shots, 'demo-broker-down.png')
  await screenshot(page, outageShot)

  proxy.restore()
  await waitForState(page, 'publish', ['connected'], 30_000)
  await waitForState(page, 'consume', ['connected'], 30_000)
  await page.locator('#broker-banner').waitFor({ state: 'hidden' })
  phase('recovery shown')
  t.equal((await duringOutage).status, 202, 'the order posted during the outage is accepted once the broker is back')
  await waitForCount(page, '#processed', 32)
  t.equal(await count(page, '#processed'), 32, 'the page catches up by itself: that order shows as processed')
  t.equal(await dlq.textContent(), '1', 'queue depths are read again')
  const shot = join(shots, 'demo.png')
  await screenshot(page, shot)

  phase('done')
  t.comment(`in ${phases.join(', ')}`)
  t.equal(loads, 1, 'all of it on one page load')
  t.same(pageErrors, [], 'no error in the page')
  for (const file of [outageShot, shot]) t.ok(statSync(file).size > 20_000, `a screenshot in ${file}`)
})

async function screenshot(page: Page, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true })
  await page.screenshot({ path, fullPage: true })
}
