import amqp from '@fastify-amqp/connection'
import type { Channel } from 'amqplib'
import Fastify from 'fastify'
import t from 'tap'
import publisher from '../src/index.js'
import {
  buildApp,
  drainQueue,
  rawChannel,
  SHARED_URL,
  type Teardown,
  tempQueue,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test(
  'an unroutable mandatory message rejects with FST_AMQP_PUBLISHER_UNROUTABLE; its neighbours resolve',
  async (t) => {
    const { channel } = await rawChannel(t)
    const queue = await tempQueue(t, channel)
    await channel.bindQueue(queue, 'amq.direct', 'routed')
    const app = await buildApp(t)
    const nowhere = uniqueName('nowhere')
    const results = await Promise.allSettled(
      Array.from({ length: 21 }, (_, n) =>
        n === 10
          ? app.publisher.publish('amq.direct', nowhere, { n })
          : app.publisher.publish('amq.direct', 'routed', { n })
      )
    )
    const failed = results[10]
    t.equal(failed?.status, 'rejected')
    if (failed?.status === 'rejected') {
      t.equal(failed.reason.code, 'FST_AMQP_PUBLISHER_UNROUTABLE')
      t.equal(failed.reason.statusCode, 500, 'a configuration error, not a transient one')
      t.match(failed.reason.message, /"amq\.direct"/)
      t.match(failed.reason.message, nowhere)
    }
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 20, 'the routed ones all resolved')
    t.equal((await drainQueue(channel, queue)).length, 20)
  }
)

t.test('publishes sharing a messageId: each routed one resolves, each unroutable one rejects', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  await channel.bindQueue(queue, 'amq.direct', 'routed')
  const app = await buildApp(t)
  const nowhere = uniqueName('nowhere')
  // An idempotency key (an order id) sent to a bound and an unbound routing key, all issued together.
  const pairs = Array.from({ length: 50 }, (_, n) => {
    const messageId = `order-${n}`
    return [
      app.publisher.publish('amq.direct', 'routed', { n }, { messageId }),
      app.publisher.publish('amq.direct', nowhere, { n }, { messageId }),
    ] as const
  })
  const settled = await Promise.allSettled(pairs.flat())
  const routed = settled.filter((_, i) => i % 2 === 0)
  const dropped = settled.filter((_, i) => i % 2 === 1)
  t.equal(routed.filter((r) => r.status === 'fulfilled').length, 50, 'every stored one resolved')
  t.equal(
    dropped.filter((r) => r.status === 'rejected' && r.reason.code === 'FST_AMQP_PUBLISHER_UNROUTABLE').length,
    50,
    'every dropped one rejected FST_AMQP_PUBLISHER_UNROUTABLE'
  )
  const messages = await drainQueue(channel, queue)
  t.same(
    messages.map((m) => m.properties.messageId).sort(),
    pairs.map((_, n) => `order-${n}`).sort(),
    'the queue holds exactly the routed ones'
  )
})

t.test('without mandatory, an unroutable message resolves (the broker drops it, as asked)', async (t) => {
  const app = await buildApp(t)
  await t.resolves(app.publisher.publish('amq.direct', uniqueName('nowhere'), {}, { mandatory: false }))
})

t.test('a missing exchange rejects with FST_AMQP_PUBLISHER_EXCHANGE_NOT_FOUND and the channel recovers', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  const app = await buildApp(t)
  const missing = uniqueName('no-such-exchange')
  await t.rejects(app.publisher.publish(missing, 'x', { n: 1 }), {
    code: 'FST_AMQP_PUBLISHER_EXCHANGE_NOT_FOUND',
    message: new RegExp(missing),
  })
  await t.resolves(app.publisher.publish('', queue, { after: true }), 'publishing goes on on a new channel')
  t.equal((await channel.checkQueue(queue)).messageCount, 1)
})

/** A queue holding one message that rejects more (the broker nacks them), and an app whose log is kept. */
async function fullQueueApp(t: Teardown, channel: Channel) {
  const full = await tempQueue(t, channel, 'full', SHARED_URL, { 'x-max-length': 1, 'x-overflow': 'reject-publish' })
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'debug', stream: { write: (line: string) => lines.push(line) } } })
  t.teardown(() => app.close())
  await app.register(amqp, { url: SHARED_URL, reconnect: { initialDelay: 20, maxDelay: 500 } })
  await app.register(publisher)
  await app.ready()
  await app.publisher.publish('', full, { n: 1 })
  return { app, full, lines }
}

t.test('a nack is sent again on a fresh channel: it resolves once the broker takes it', async (t) => {
  const { channel } = await rawChannel(t)
  // The broker nacks instead of storing, until there is room.
  const { app, full, lines } = await fullQueueApp(t, channel)
  const second = app.publisher.publish('', full, { n: 2 })
  await until(() => lines.some((line) => line.includes('the broker nacked a publish')), 5_000, 'a nack')
  const first = await channel.get(full, { noAck: true })
  t.ok(first, 'room made in the queue')
  await t.resolves(second, 'the nacked message went out again and was stored')
  const stored = await channel.get(full, { noAck: true })
  t.same(stored && JSON.parse(stored.content.toString()), { n: 2 })
})

t.test('a message nacked until its deadline rejects with FST_AMQP_PUBLISHER_NACK; publishing goes on', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  const { app, full, lines } = await fullQueueApp(t, channel)
  const opened = () =>
    lines.filter((line) => line.includes('"channel":"publisher"') && line.includes('amqp channel open')).length
  t.equal(opened(), 1)
  await t.rejects(app.publisher.publish('', full, { n: 2 }, { timeout: 300 }), {
    code: 'FST_AMQP_PUBLISHER_NACK',
    statusCode: 503,
  })
  // The next publishes are confirmed, on a new channel.
  await Promise.all(Array.from({ length: 20 }, (_, n) => app.publisher.publish('', queue, { n })))
  t.ok(opened() >= 2, `a fresh channel was opened after the nack (${opened()} opened)`)
  t.equal((await channel.checkQueue(queue)).messageCount, 20)
  t.equal((await channel.checkQueue(full)).messageCount, 1, 'the nacked message was not stored')
})
