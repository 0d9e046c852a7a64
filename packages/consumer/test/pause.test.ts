import { startFaultProxy } from '@fastify-amqp/test-broker'
import t, { type Test } from 'tap'
import {
  type Broker,
  type BuildOptions,
  buildApp,
  deferred,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  uniqueName,
  until,
} from './fixtures/helpers.js'

/** Sends n messages and waits until the broker holds them all, ready, with no consumer on the queue. */
async function sendWhileNobodyConsumes(t: Test, broker: Broker, queue: string, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i += 1) await broker.send(queue, { i })
  await until(async () => (await broker.count(queue)) === n, 10_000, `${n} messages waiting in ${queue}`)
  t.equal((await broker.channel.checkQueue(queue)).consumerCount, 0, 'no subscription on the queue')
}

/** An app with one counting consumer on `queue` (not ready yet when `ready: false`), cleaned up at teardown. */
async function countingApp(t: Test, queue: string, options: Pick<BuildOptions, 'connection' | 'ready'> = {}) {
  const counter = { handled: 0 }
  const app = await buildApp(t, {
    ...options,
    consumer: { retry: false },
    declare: (app) => {
      app.consume(queue, {}, async () => {
        counter.handled += 1
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  return { app, counter }
}

t.test('paused: a running handler finishes and acks, nothing else is handled; resumed: everything', async (t) => {
  const queue = uniqueName('pause')
  const broker = await openBroker(t)
  const handled: number[] = []
  const gate = deferred<void>()
  const app = await buildApp(t, {
    consumer: { retry: false },
    declare: (app) => {
      app.consume(queue, { prefetch: 10 }, async (message) => {
        const { i } = message.body as { i: number }
        if (i === 0) await gate.promise
        handled.push(i)
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  await broker.send(queue, { i: 0 })
  await until(() => app.consumers[0]?.inFlight === 1, 10_000, 'the first handler running')

  await app.pauseConsumer(queue)
  t.equal(app.consumers[0]?.paused, true)
  t.equal(app.consumers[0]?.active, false)
  gate.resolve()
  await until(() => handled.length === 1, 10_000, 'the running handler to finish')
  await until(async () => (await broker.count(queue)) === 0, 10_000, 'its ack to land (nothing requeued)')

  await sendWhileNobodyConsumes(t, broker, queue, 1, 20)
  t.same(handled, [0], 'nothing handled while paused')

  await app.resumeConsumer(queue)
  t.equal(app.consumers[0]?.paused, false)
  t.equal(app.consumers[0]?.active, true, 'subscribed again when resumeConsumer resolves')
  await until(() => handled.length === 21, 10_000, 'everything handled after resume')
  t.same(
    [...handled].sort((a, b) => a - b),
    Array.from({ length: 21 }, (_, i) => i)
  )
})

t.test('a paused consumer stays paused across a reconnect, and consumes after resume', async (t) => {
  const queue = uniqueName('pause-cut')
  const broker = await openBroker(t)
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
  t.teardown(() => proxy.close())
  const { app, counter } = await countingApp(t, queue, {
    connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 50, maxDelay: 500 } },
  })
  await app.pauseConsumer(queue)
  const reconnects = app.amqp.health().connections.consume.reconnects
  proxy.cut()
  await until(() => app.amqp.health().connections.consume.reconnects > reconnects, 15_000, 'the consume reconnect')
  await until(() => app.amqp.status === 'connected', 15_000, 'both connections back')
  // The channel is open again (its setup declared the queue) but nothing subscribes.
  await sendWhileNobodyConsumes(t, broker, queue, 0, 10)
  t.equal(counter.handled, 0, 'nothing handled while paused, before or after the reconnect')
  t.equal(app.consumers[0]?.active, false)

  await app.resumeConsumer(queue)
  await until(() => counter.handled === 10, 10_000, 'every message handled after resume')
  t.equal(app.consumers[0]?.active, true)
})

t.test('paused before ready: the consumer starts without subscribing', async (t) => {
  const queue = uniqueName('pause-early')
  const broker = await openBroker(t)
  const { app, counter } = await countingApp(t, queue, { ready: false })
  await app.pauseConsumer(queue)
  await app.ready()
  t.equal(app.consumers[0]?.paused, true)
  await sendWhileNobodyConsumes(t, broker, queue, 0, 3)
  t.equal(counter.handled, 0)
  await app.resumeConsumer(queue)
  await until(() => counter.handled === 3, 10_000, 'handled after resume')
})

t.test('an unknown queue is a coded error', async (t) => {
  const app = await buildApp(t)
  await t.rejects(app.pauseConsumer('nope'), { code: 'FST_AMQP_CONSUMER_UNKNOWN_QUEUE', statusCode: 404 })
  await t.rejects(app.resumeConsumer('nope'), { code: 'FST_AMQP_CONSUMER_UNKNOWN_QUEUE' })
})
