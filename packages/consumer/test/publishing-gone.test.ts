import { Publisher, type PublishOptions } from '@fastify-amqp/publisher'
import { closeSharedConnectionsNamed, listSharedConsumers, startRoleProxy } from '@fastify-amqp/test-broker'
import t from 'tap'
import {
  buildApp,
  captureLogs,
  deferred,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

const STOPPED =
  'amqp publishing has stopped for good: consumers stop until the publish connection is back, their unsettled messages go back to their queues'

t.test('the publish connection gives up while consuming: consumers stop, no redelivery loop', async (t) => {
  const queue = uniqueName('publish-gone')
  const broker = await openBroker(t)
  const proxy = await startRoleProxy({ port: Number(new URL(SHARED_URL).port) })
  t.teardown(() => proxy.close())
  const deliveries = new Map<string, number>()
  const gate = deferred()
  const { capture, logger } = captureLogs('info')
  const app = await buildApp(t, {
    logger,
    connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 50, maxDelay: 100, maxAttempts: 2 } },
    declare: (app) => {
      app.consume(queue, { retry: { attempts: 3, delay: 100 } }, async (message) => {
        const id = String(message.messageId)
        deliveries.set(id, (deliveries.get(id) ?? 0) + 1)
        if (id === 'bad') {
          await gate.promise
          throw new Error('fails, to be retried')
        }
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  await broker.send(queue, { n: 0 }, { messageId: 'good-0' })
  await until(() => deliveries.get('good-0') === 1, 10_000, 'consuming')
  await broker.send(queue, { n: 1 }, { messageId: 'bad' })
  await until(() => deliveries.get('bad') === 1, 10_000, 'the failing handler running')

  // Publishing is cut off and every reconnect refused: after maxAttempts the publish connection gives up.
  proxy.refuse('publish')
  const publish = app.amqp.connection('publish')
  await until(() => publish.status === 'closed', 15_000, 'the publish connection given up')
  t.equal(app.amqp.connection('consume').status, 'connected', 'consuming connection still up')
  await until(() => app.consumers[0]?.suspended !== null, 10_000, 'the consumer stopped')
  t.match(app.consumers[0]?.suspended, /^publishing stopped: the publish connection closed/)
  t.equal(app.consumers[0]?.active, false, 'app.consumers shows it')
  await until(async () => (await listSharedConsumers(queue)).length === 0, 10_000, 'basic.cancel reached the broker')

  // The retry publish of the failing message is refused (publisher closed): the original goes back once.
  gate.resolve()
  await broker.send(queue, { n: 2 }, { messageId: 'good-1' })
  t.equal(await settledCount(queue), 2, 'the failing message back in its queue, and the next one waits there')
  t.equal(deliveries.get('bad'), 1, 'delivered once: no hot redelivery loop')
  t.notOk(deliveries.has('good-1'), 'nothing consumed while stopped')
  t.equal(capture.lines.filter((line) => line.msg === STOPPED).length, 1, 'logged once')
  t.ok(capture.find((line) => line.msg === 'amqp consumer stopped (basic.cancel) until publishing is back'))

  // A connection that gave up stays closed (ManagedConnection does not start again), so the consumers stay stopped.
  proxy.restore()
  t.equal(publish.status, 'closed')
  t.notOk(app.consumers[0]?.active)
  await t.resolves(app.close())
  t.equal(await settledCount(queue), 2, 'still there after close: nothing lost')
})

t.test('a publisher that refuses as closed stops the consumers; they resume when publishing is back', async (t) => {
  const queue = uniqueName('publish-back')
  const name = uniqueName('publish-back')
  const broker = await openBroker(t)
  const deliveries: number[] = []
  const handled: number[] = []
  let down = true
  const { capture, logger } = captureLogs('info')
  const app = await buildApp(t, {
    logger,
    connection: { connectionName: name },
    declare: (app) => {
      // Stands for a publisher whose refusal lifts: @fastify-amqp/publisher's never does once its connection closed.
      const real = new Publisher(app.amqp, {}, app.log)
      const publisher = {
        publish(exchange: string, routingKey: string, body: unknown, options?: PublishOptions) {
          if (!down) return real.publish(exchange, routingKey, body as never, options)
          return Promise.reject(Object.assign(new Error('closed'), { code: 'FST_AMQP_PUBLISHER_CLOSED' }))
        },
        close: () => real.close(),
      }
      app.decorate('publisher', publisher as never)
      app.addHook('onClose', () => real.close())
      app.consume(queue, { retry: { attempts: 3, delay: 100 } }, async (message) => {
        deliveries.push(message.attempt)
        if (message.attempt === 1) throw new Error('first try fails')
        handled.push(message.attempt)
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  await broker.send(queue, { n: 1 })
  await until(() => app.consumers[0]?.suspended !== null, 10_000, 'the consumer stopped')
  t.match(app.consumers[0]?.suspended, /^publishing stopped: .*closed/)
  await until(async () => (await listSharedConsumers(queue)).length === 0, 10_000, 'basic.cancel reached the broker')
  t.equal(await settledCount(queue), 1, 'back in its queue')
  t.same(deliveries, [1], 'delivered once, not looped')

  // Publishing is back; the publish connection reconnects (closed by name here) and says so: consuming resumes.
  down = false
  await closeSharedConnectionsNamed(`${name}:publish`)
  await until(() => handled.length === 1, 20_000, 'the message handled after resuming')
  t.same(deliveries, [1, 1, 2], 'redelivered once on resume, then retried through the delay queue')
  t.equal(app.consumers[0]?.suspended, null)
  t.equal(app.consumers[0]?.active, true)
  t.ok(capture.find((line) => line.msg === 'amqp publish connection is back: consumers resume'))
  t.ok(capture.find((line) => line.msg === 'amqp consumer re-subscribed on resume'))
  await app.close()
  t.equal(await settledCount(queue), 0)
})
