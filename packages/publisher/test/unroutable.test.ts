import t from 'tap'
import { buildApp, drainQueue, rawChannel, tempQueue, uniqueName } from './fixtures/helpers.js'

t.test('an unroutable mandatory message rejects with FST_AMQP_UNROUTABLE; its neighbours resolve', async (t) => {
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
    t.equal(failed.reason.code, 'FST_AMQP_UNROUTABLE')
    t.equal(failed.reason.statusCode, 500, 'a configuration error, not a transient one')
    t.match(failed.reason.message, /"amq\.direct"/)
    t.match(failed.reason.message, nowhere)
  }
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 20, 'the routed ones all resolved')
  t.equal((await drainQueue(channel, queue)).length, 20)
})

t.test('without mandatory, an unroutable message resolves (the broker drops it, as asked)', async (t) => {
  const app = await buildApp(t)
  await t.resolves(app.publisher.publish('amq.direct', uniqueName('nowhere'), {}, { mandatory: false }))
})

t.test('a missing exchange rejects with FST_AMQP_EXCHANGE_NOT_FOUND and the channel recovers', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  const app = await buildApp(t)
  const missing = uniqueName('no-such-exchange')
  await t.rejects(app.publisher.publish(missing, 'x', { n: 1 }), {
    code: 'FST_AMQP_EXCHANGE_NOT_FOUND',
    message: new RegExp(missing),
  })
  await t.resolves(app.publisher.publish('', queue, { after: true }), 'publishing goes on on a new channel')
  t.equal((await channel.checkQueue(queue)).messageCount, 1)
})
