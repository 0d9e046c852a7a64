import { startFaultProxy } from '@fastify-amqp/test-broker'
import t from 'tap'
import {
  buildApp,
  captureLogs,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test('consumerHealth(): ready once every consumer is subscribed, not while the connection is cut', async (t) => {
  const queues = [uniqueName('ready-a'), uniqueName('ready-b')]
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
  t.teardown(() => proxy.close())
  const app = await buildApp(t, {
    ready: false,
    connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 50, maxDelay: 200 } },
    declare: (app) => {
      for (const queue of queues) app.consume(queue, { retry: false }, async () => {})
    },
  })
  t.teardown(async () => {
    for (const queue of queues) await deleteConsumerQueues(SHARED_URL, queue)
  })

  t.same(
    app.consumerHealth(),
    { ready: false, consumers: 2, subscribed: 0, notSubscribed: queues, paused: [] },
    'before ready'
  )
  await app.ready()
  await until(() => app.consumerHealth().ready, 10_000, 'both consumers subscribed')
  t.same(app.consumerHealth(), { ready: true, consumers: 2, subscribed: 2, notSubscribed: [], paused: [] })

  proxy.refuse()
  await until(() => !app.consumerHealth().ready, 10_000, 'readiness to drop with the connection cut')
  await until(() => app.consumerHealth().subscribed === 0, 10_000, 'both consumers unsubscribed')
  t.same(app.consumerHealth().notSubscribed, queues, 'names the queues not consumed')
  t.ok(
    app.consumers.every((info) => !info.active),
    'as app.consumers says'
  )

  proxy.restore()
  await until(() => app.consumerHealth().ready, 30_000, 'readiness back after the connection is')
  t.same(app.consumerHealth(), { ready: true, consumers: 2, subscribed: 2, notSubscribed: [], paused: [] })

  // A pause is on purpose: the queue is named apart and the app stays ready.
  await app.pauseConsumer(queues[0] as string)
  t.same(app.consumerHealth(), { ready: true, consumers: 2, subscribed: 1, notSubscribed: [], paused: [queues[0]] })
  await app.resumeConsumer(queues[0] as string)
  t.same(app.consumerHealth().paused, [])

  await app.close()
  t.equal(app.consumerHealth().ready, false, 'not ready once closing began')
})

t.test('consumerHealth(): ready with no consumer declared, once ready', async (t) => {
  const app = await buildApp(t, { ready: false })
  t.equal(app.consumerHealth().ready, false, 'not before ready')
  await app.ready()
  t.same(app.consumerHealth(), { ready: true, consumers: 0, subscribed: 0, notSubscribed: [], paused: [] })
})

t.test(
  'consumerHealth(): one consumer that cannot subscribe (406) keeps the app not ready, naming its queue',
  async (t) => {
    const good = uniqueName('ready-good')
    const bad = uniqueName('ready-bad')
    const broker = await openBroker(t)
    // Declared with an argument the consumer does not ask for: its declaration is refused (406) every time.
    await broker.channel.assertQueue(bad, { durable: true, arguments: { 'x-max-length': 5 } })
    const app = await buildApp(t, {
      declare: (app) => {
        app.consume(good, { retry: false }, async () => {})
        app.consume(bad, { retry: false }, async () => {})
      },
    })
    t.teardown(async () => {
      await app.close()
      await deleteConsumerQueues(SHARED_URL, good)
      await deleteConsumerQueues(SHARED_URL, bad)
    })
    await until(() => app.consumers[0]?.active === true, 10_000, 'the good consumer subscribed')
    t.same(app.consumerHealth(), { ready: false, consumers: 2, subscribed: 1, notSubscribed: [bad], paused: [] })
  }
)

t.test(
  'startTimeout: ready() stops waiting for consumers whose channel does not open, warns once, and they consume later',
  async (t) => {
    const queues = [uniqueName('start-a'), uniqueName('start-b')]
    const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
    t.teardown(() => proxy.close())
    const { capture, logger } = captureLogs('info')
    const app = await buildApp(t, {
      ready: false,
      logger,
      connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 50, maxDelay: 200 } },
      consumer: { startTimeout: 300 },
      declare: (app) => {
        for (const queue of queues) app.consume(queue, { retry: false }, async () => {})
      },
    })
    t.teardown(async () => {
      for (const queue of queues) await deleteConsumerQueues(SHARED_URL, queue)
    })
    // The connections are up; from here the broker hears nothing, so no channel.open is ever answered.
    proxy.blackhole()
    const since = performance.now()
    await app.ready()
    const waited = performance.now() - since
    t.ok(waited >= 290, `ready() waited for the subscriptions (${waited.toFixed(0)} ms)`)
    // The default (5 s) would wait until 5 000 ms.
    t.ok(waited < 3_000, `and stopped at startTimeout, not the default (${waited.toFixed(0)} ms)`)
    t.match(
      capture.find((line) => line.msg === 'amqp consumers not subscribed yet; each will be when its channel opens'),
      { pending: 2, consumers: 2, waited: 300 },
      'one warning names how many are pending'
    )
    t.same(app.consumerHealth().notSubscribed, queues, 'and readiness says which')

    // The blackholed connections are dropped; the reconnects subscribe both.
    proxy.restore()
    await until(() => app.consumerHealth().ready, 30_000, 'both consumers subscribed after the wait')
    t.equal(app.consumerHealth().subscribed, 2)
  }
)
