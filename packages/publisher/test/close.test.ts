import { startFaultProxy } from '@fastify-amqp/test-broker'
import t from 'tap'
import { buildApp, once, rawChannel, SHARED_URL, tempQueue } from './fixtures/helpers.js'

t.test('app.close() with publishes in flight waits for their confirms, then closes', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  const app = await buildApp(t)
  await app.publisher.publish('', queue, { warm: true }) // the channel is up
  let closed = false
  let resolvedAfterClose = 0
  const inFlight = Array.from({ length: 2_000 }, (_, n) =>
    app.publisher.publish('', queue, { n }).then((receipt) => {
      if (closed) resolvedAfterClose += 1
      return receipt
    })
  )
  t.ok(app.publisher.pending > 0, `${app.publisher.pending} publishes in flight when close starts`)
  await app.close()
  closed = true
  const results = await Promise.allSettled(inFlight)
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 2_000, 'every in-flight publish was confirmed')
  t.equal(resolvedAfterClose, 0, 'nothing resolved after close() returned')
  t.equal((await channel.checkQueue(queue)).messageCount, 2_001)
  await t.rejects(app.publisher.publish('', queue, {}), { code: 'FST_AMQP_PUBLISHER_CLOSED', statusCode: 503 })
})

t.test('close() waits at most closeTimeout, then rejects what is left; nothing resolves after', async (t) => {
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  t.teardown(() => proxy.close())
  const app = await buildApp(t, {
    connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 10, maxDelay: 100 } },
    publisher: { closeTimeout: 300, confirmTimeout: 30_000 },
  })
  await app.publisher.publish('amq.direct', 'x', {}, { mandatory: false })
  const lost = once(app.amqp, 'disconnected')
  proxy.refuse()
  await lost
  let closed = false
  let resolvedAfterClose = 0
  const waiting = Array.from({ length: 10 }, () =>
    app.publisher.publish('amq.direct', 'x', {}, { mandatory: false }).then(() => {
      if (closed) resolvedAfterClose += 1
    })
  )
  const started = Date.now()
  await app.close()
  closed = true
  const waited = Date.now() - started
  t.ok(waited >= 250, `close waited for the confirms (${waited} ms)`)
  for (const result of await Promise.allSettled(waiting)) {
    t.equal(result.status === 'rejected' && result.reason.code, 'FST_AMQP_PUBLISHER_CLOSED')
  }
  proxy.restore()
  t.equal(resolvedAfterClose, 0)
  t.equal(app.publisher.pending, 0)
})

t.test('a connection that gives up rejects buffered publishes and refuses new ones', async (t) => {
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  t.teardown(() => proxy.close())
  const app = await buildApp(t, {
    connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 2 } },
    publisher: { confirmTimeout: 30_000 },
  })
  await app.publisher.publish('amq.direct', 'x', {}, { mandatory: false })
  const gaveUp = once(app.amqp.connection('publish'), 'closed')
  proxy.refuse()
  const buffered = app.publisher.publish('amq.direct', 'x', {})
  await gaveUp
  await t.rejects(buffered, { code: 'FST_AMQP_PUBLISHER_CLOSED', message: /connection closed/ })
  await t.rejects(app.publisher.publish('amq.direct', 'x', {}), { code: 'FST_AMQP_PUBLISHER_CLOSED' })
})
