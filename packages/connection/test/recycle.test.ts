import t from 'tap'
import { buildApp, once, uniqueName } from './fixtures/helpers.js'

/** A logger stream keeping each line's parsed JSON. */
function captured() {
  const lines: Record<string, unknown>[] = []
  return { lines, logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } } }
}

const reopenAttempts = (lines: Record<string, unknown>[], channel: string) =>
  lines.filter((l) => l.msg === 'amqp channel re-open scheduled' && l.channel === channel).map((l) => l.attempt)

t.test('publishes the broker refuses, one channel close after another: re-opens stay at the first delay', async (t) => {
  const { lines, logger } = captured()
  // A slow-growing backoff would show: 6 closes in a row would reach attempt 6 (up to 32 x initialDelay).
  const app = await buildApp(t, { reconnect: { initialDelay: 20, maxDelay: 30_000, stableAfter: 60_000 } }, { logger })
  const managed = app.amqp.channel({ confirm: true, name: 'refused' })
  for (let n = 0; n < 6; n++) {
    const channel = await managed.waitForOpen()
    const lost = once(managed, 'lost')
    channel.publish(uniqueName('no-exchange'), 'rk', Buffer.from('x'), {}, () => {})
    await lost
  }
  await managed.waitForOpen()
  t.same(reopenAttempts(lines, 'refused'), [1, 1, 1, 1, 1, 1], 'every re-open is a first attempt')
})

t.test('recycle(): the channel is closed on purpose and a fresh one opens, no failure counted', async (t) => {
  const { lines, logger } = captured()
  const app = await buildApp(t, { reconnect: { initialDelay: 20, maxDelay: 30_000, stableAfter: 60_000 } }, { logger })
  const managed = app.amqp.channel({ confirm: true, name: 'recycled' })
  let previous = await managed.waitForOpen()
  for (let n = 0; n < 4; n++) {
    const opened = once(managed, 'open')
    managed.recycle()
    const fresh = await opened
    t.not(fresh, previous, 'a new channel')
    previous = fresh as typeof previous
  }
  t.same(reopenAttempts(lines, 'recycled'), [1, 1, 1, 1])
  t.equal(app.amqp.status, 'connected', 'the connection was never touched')
})

t.test('a channel error that is not a refused publish still backs off', async (t) => {
  const { lines, logger } = captured()
  const app = await buildApp(t, { reconnect: { initialDelay: 20, maxDelay: 30_000, stableAfter: 60_000 } }, { logger })
  const managed = app.amqp.channel({ name: 'passive' })
  for (let n = 0; n < 3; n++) {
    const channel = await managed.waitForOpen()
    const lost = once(managed, 'lost')
    await t.rejects(channel.checkQueue(uniqueName('no-queue')))
    await lost
  }
  t.same(reopenAttempts(lines, 'passive'), [1, 2, 3])
})
