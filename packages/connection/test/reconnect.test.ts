import { closeSharedConnectionsNamed } from '@fastify-amqp/test-broker'
import { connect } from 'amqplib'
import t from 'tap'
import type { ConnectionEvents } from '../src/index.js'
import {
  buildApp,
  captureLogs,
  once,
  proxied,
  recordEvents,
  SHARED_URL,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test('a fault-proxy cut: disconnected, reconnecting, connected, and channel setup runs again', async (t) => {
  const proxy = await proxied(t)
  const app = await buildApp(t, { url: proxy.url(SHARED_URL) })
  const events = recordEvents(app.amqp)
  let setups = 0
  const managed = app.amqp.channel({
    setup: () => {
      setups += 1
    },
  })
  await managed.waitForOpen()
  t.equal(setups, 1)

  const back = once<ConnectionEvents['connected'][0]>(app.amqp, 'connected', 15_000, (i) => i.role === 'consume')
  const reopened = once(managed, 'open')
  proxy.cut()
  await back
  await reopened
  t.equal(setups, 2, 'setup ran again on the new channel')
  const consume = events.filter((e) => e.endsWith(':consume'))
  t.same(consume.slice(0, 3), ['disconnected:consume', 'reconnecting:consume', 'connected:consume'])
  await until(() => app.amqp.status === 'connected', 15_000, 'both connections back')
  t.equal(app.amqp.health().reconnects, 2)
  // The channel works on the new connection.
  const channel = await managed.waitForOpen()
  const q = await channel.assertQueue('', { exclusive: true })
  t.match(q.queue, /^amq\.gen-/)
})

t.test('a broker-side close_connection heals by itself', async (t) => {
  const name = uniqueName('forced')
  const app = await buildApp(t, { connectionName: name })
  let setups = 0
  const managed = app.amqp.channel({
    setup: () => {
      setups += 1
    },
  })
  await managed.waitForOpen()
  const events = recordEvents(app.amqp)
  const back = once(app.amqp, 'connected', 60_000) // rabbitmqctl is slow on a loaded machine
  const closed = await closeSharedConnectionsNamed(`${name}:consume`, 'test: forced close')
  t.equal(closed, 1, 'closed our own connection by name')
  await back
  await until(() => setups === 2, 15_000, 'setup to run again')
  t.same(events.slice(0, 3), ['disconnected:consume', 'reconnecting:consume', 'connected:consume'])
  t.equal(app.amqp.status, 'connected')
})

t.test('a black-holed connection is noticed by heartbeats and recovers when traffic flows', async (t) => {
  const proxy = await proxied(t)
  const app = await buildApp(t, { url: proxy.url(SHARED_URL), heartbeat: 1 })
  const cutAt = Date.now()
  const lost = once(app.amqp, 'disconnected', 10_000)
  proxy.blackhole()
  await lost
  const detectedIn = Date.now() - cutAt
  t.comment(`heartbeat loss noticed after ${detectedIn} ms (heartbeat 1 s)`)
  t.ok(detectedIn >= 900, 'not before a heartbeat could be missed')
  t.ok(detectedIn < 5_000, 'within a few heartbeat intervals')
  proxy.restore()
  await until(() => app.amqp.status === 'connected', 15_000, 'recovery after restore')
  t.equal(app.amqp.status, 'connected')
})

t.test('first URL refused, second reachable: connects to the second', async (t) => {
  const proxy = await proxied(t)
  proxy.refuse()
  const app = await buildApp(t, { url: [proxy.url(SHARED_URL), SHARED_URL] })
  t.equal(app.amqp.status, 'connected')
  t.equal(app.amqp.health().connections.publish.url, SHARED_URL.replace(':guest@', ':***@'))
})

t.test(
  'broker down at start with waitForConnection: register fails with a clear error within connectTimeout',
  async (t) => {
    const proxy = await proxied(t)
    proxy.refuse()
    const { capture, logger } = captureLogs()
    const started = Date.now()
    const err = await buildApp(t, { url: proxy.url(SHARED_URL), connectTimeout: 1_500 }, { logger }).catch((e) => e)
    const took = Date.now() - started
    t.equal(err.code, 'FST_AMQP_CONNECTION_CONNECT_TIMEOUT')
    t.match(err.message, /Could not connect to RabbitMQ within 1500 ms \(last error: .*ECONNREFUSED|closed/)
    t.ok(took < 4_000, `failed after ${took} ms`)
    t.match(capture.text(), /amqp reconnect scheduled/)
  }
)

t.test('a 404 in one channel leaves the connection and other channels working; retried with backoff', async (t) => {
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, { reconnect: { initialDelay: 100, maxDelay: 400 } }, { logger })
  const missing = uniqueName('missing-exchange')
  let attempts = 0
  const broken = app.amqp.channel({
    name: 'broken',
    setup: async (channel) => {
      attempts += 1
      await channel.checkExchange(missing)
    },
  })
  const healthy = app.amqp.channel({ name: 'healthy' })
  const channel = await healthy.waitForOpen()
  await until(() => attempts >= 3, 10_000, 'retries of the broken channel')
  const windowStart = attempts
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const perSecond = attempts - windowStart
  // Full jitter in [0, 400] ms averages ~5 a second and can draw more; a tight loop would do hundreds.
  t.ok(perSecond <= 20, `backoff, not a tight loop: ${perSecond} attempts in 1 s`)
  t.equal(broken.channel, null)
  t.equal(app.amqp.status, 'connected')
  t.equal(healthy.channel, channel, 'the other channel was never replaced')
  await t.resolves(channel.assertQueue('', { exclusive: true }), 'the other channel still works')
  t.match(capture.text(), new RegExp(`no exchange '${missing}'`), 'the log names the exchange')
})

t.test('a 406 on a re-declared queue names the queue and argument and does not spread', async (t) => {
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, {}, { logger })
  const queue = uniqueName('q406')
  const admin = await connect(SHARED_URL)
  t.teardown(async () => {
    const ch = await admin.createChannel()
    await ch.deleteQueue(queue)
    await admin.close()
  })
  await (await admin.createChannel()).assertQueue(queue, { durable: true, arguments: { 'x-max-length': 10 } })
  app.amqp.channel({
    name: 'mismatch',
    setup: async (channel) => {
      await channel.assertQueue(queue, { durable: true, arguments: { 'x-max-length': 20 } })
    },
  })
  const other = await app.amqp.channel({ name: 'other' }).waitForOpen()
  await until(() => /inequivalent arg 'x-max-length'/.test(capture.text()), 10_000, 'the 406 in the log')
  t.match(capture.text(), new RegExp(`for queue '${queue}'`))
  await t.resolves(other.checkQueue(queue), 'the connection and the other channel still work')
  t.equal(app.amqp.status, 'connected')
})

t.test('app.close() in the middle of a reconnect loop returns promptly', async (t) => {
  const proxy = await proxied(t)
  const app = await buildApp(t, { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 2_000, maxDelay: 5_000 } })
  const reconnecting = once(app.amqp, 'reconnecting')
  proxy.refuse()
  await reconnecting
  t.equal(app.amqp.status, 'reconnecting')
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 1_000, `closed in ${Date.now() - started} ms`)
  t.equal(app.amqp.status, 'closed')
})

t.test('a channel that dies during its setup is not handed out: it is opened again', async (t) => {
  const app = await buildApp(t, { reconnect: { initialDelay: 50, maxDelay: 200 } })
  let attempts = 0
  const managed = app.amqp.channel({
    name: 'dies-in-setup',
    setup: async (channel) => {
      attempts += 1
      // The first time, a 404 closes the channel but setup swallows it and resolves.
      if (attempts === 1) await channel.checkExchange(uniqueName('missing')).catch(() => {})
    },
  })
  const channel = await managed.waitForOpen()
  t.equal(attempts, 2, 'setup ran again on a new channel')
  await t.resolves(channel.assertQueue('', { exclusive: true }), 'the channel handed out works')
})
