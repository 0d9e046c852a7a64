import t from 'tap'
import type { ManagedChannelEvents } from '../src/index.js'
import { buildApp, once, proxied, SHARED_URL, uniqueName } from './fixtures/helpers.js'

type Lost = ManagedChannelEvents<never>['lost'][0]

t.test("a broker Channel.Close: 'lost' carries its reply code, class, method and text", async (t) => {
  const app = await buildApp(t)
  const managed = app.amqp.channel({ name: 'passive' })
  const channel = await managed.waitForOpen()
  const missing = uniqueName('missing-queue')
  const lost = once<Lost>(managed, 'lost')
  await t.rejects(channel.checkQueue(missing))
  const info = await lost
  // queue.declare is class 50, method 10.
  t.match(info.reply, { code: 404, classId: 50, methodId: 10 })
  t.match(info.reply?.text, new RegExp(`^NOT_FOUND - no queue '${missing}'`))
  t.match(info.error, /Channel closed by server: 404/, 'error is the summary it was before')
  await once(managed, 'open')
  t.equal(app.amqp.status, 'connected')
})

t.test("a publish to a missing exchange on a confirm channel: 'lost' names basic.publish", async (t) => {
  const app = await buildApp(t)
  const managed = app.amqp.channel({ confirm: true, name: 'publishes' })
  const channel = await managed.waitForOpen()
  const missing = uniqueName('missing-exchange')
  const lost = once<Lost>(managed, 'lost')
  const confirmed = new Promise<unknown>((resolve) => channel.publish(missing, 'rk', Buffer.from('x'), {}, resolve))
  const info = await lost
  t.match(info.reply, { code: 404, classId: 60, methodId: 40 })
  t.match(info.reply?.text, new RegExp(`^NOT_FOUND - no exchange '${missing}'`))
  t.ok(await confirmed, 'the confirm callback got an error')
  await once(managed, 'open')
})

t.test("a connection loss after a channel error: 'lost' has no reply, none carried over", async (t) => {
  const proxy = await proxied(t)
  const app = await buildApp(t, { url: proxy.url(SHARED_URL) })
  const managed = app.amqp.channel({ name: 'twice' })
  const channel = await managed.waitForOpen()
  const first = once<Lost>(managed, 'lost')
  await t.rejects(channel.checkQueue(uniqueName('missing-queue')))
  t.equal((await first).reply?.code, 404)
  await once(managed, 'open')
  const second = once<Lost>(managed, 'lost')
  proxy.cut()
  t.same(await second, { error: null, reply: null })
})
