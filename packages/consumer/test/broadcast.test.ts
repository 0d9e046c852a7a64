import { startFaultProxy } from '@fastify-amqp/test-broker'
import t, { type Test } from 'tap'
import type { ConsumeOptions } from '../src/index.js'
import { buildApp, openBroker, SHARED_URL, uniqueName, until } from './fixtures/helpers.js'

/** An app instance with one exclusive consumer bound to the fanout `exchange`, recording each body's `i`. */
async function instance(t: Test, exchange: string, url = SHARED_URL) {
  const seen: number[] = []
  const app = await buildApp(t, {
    connection: { url, reconnect: { initialDelay: 50, maxDelay: 500 } },
    declare: (app) => {
      app.consume({
        exclusive: true,
        queuePrefix: 'cache-invalidation',
        bindings: [{ exchange, exchangeType: 'fanout' }],
        handler: async (message) => {
          seen.push((message.body as { i: number }).i)
        },
      })
    },
  })
  return { app, seen, queue: app.consumers[0]?.queue as string }
}

t.test('each instance gets every broadcast, again after its connection is cut', async (t) => {
  const exchange = uniqueName('fanout')
  const broker = await openBroker(t)
  t.teardown(() => broker.channel.deleteExchange(exchange).catch(() => {}))
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
  t.teardown(() => proxy.close())
  const a = await instance(t, exchange, proxy.url(SHARED_URL))
  const b = await instance(t, exchange)
  t.match(a.queue, /^cache-invalidation\.[0-9a-f-]{36}$/)
  t.not(a.queue, b.queue, 'a queue per instance')
  t.equal(a.app.consumers[0]?.exclusive, true)

  const publish = async (from: number, to: number) => {
    for (let i = from; i < to; i += 1)
      broker.channel.publish(exchange, '', Buffer.from(JSON.stringify({ i })), { contentType: 'application/json' })
    await broker.channel.waitForConfirms()
  }
  await publish(0, 5)
  await until(() => a.seen.length === 5 && b.seen.length === 5, 10_000, 'both instances to get the first five')

  const reconnects = a.app.amqp.health().connections.consume.reconnects
  proxy.cut()
  await until(() => a.app.amqp.health().connections.consume.reconnects > reconnects, 15_000, "instance a's reconnect")
  await until(() => a.app.consumers[0]?.active === true, 15_000, 'its queue declared, bound and consumed again')
  t.equal(a.app.consumers[0]?.queue, a.queue, 'the same name, declared again')
  await publish(5, 10)
  await until(() => b.seen.length === 10 && a.seen.filter((i) => i >= 5).length === 5, 10_000, 'both get the next five')
  t.same(b.seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

  // The queue is a's own: another connection may not use it, and it goes with a's connection.
  await t.rejects(broker.channel.checkQueue(a.queue), /RESOURCE_LOCKED|405/)
  const other = await openBroker(t)
  await a.app.close()
  await until(
    () =>
      other.channel.checkQueue(a.queue).then(
        () => false,
        (err: Error) => /404|NOT_FOUND/.test(err.message)
      ),
    10_000,
    'the broker to delete the queue with its connection'
  )
})

t.test('exclusive consumers take no queue name, retries or DLQ', async (t) => {
  const app = await buildApp(t, { ready: false })
  const handler = async () => {}
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ queue: 'named', retry: false }, /"queue": not for an exclusive consumer/],
    [{ retry: { attempts: 3 } }, /"retry": not for an exclusive consumer/],
    [{ deadLetter: true }, /"deadLetter"/],
    [{ queueOptions: { type: 'quorum' } }, /"queueOptions"/],
    [{ queuePrefix: 'amq.x' }, /"queuePrefix"/],
  ]
  for (const [options, message] of cases) {
    t.throws(() => app.consume({ exclusive: true, handler, ...options } as unknown as ConsumeOptions), {
      code: 'FST_AMQP_CONSUMER_INVALID_OPTION',
      message,
    })
  }
  t.throws(() => app.consume({ handler } as unknown as ConsumeOptions), {
    message: /or exclusive: true, without queue/,
  })
})
