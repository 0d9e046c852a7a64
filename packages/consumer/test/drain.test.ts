import { listSharedConsumers } from '@fastify-amqp/test-broker'
import t from 'tap'
import {
  buildApp,
  deferred,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test('app.close() with 50 handlers in flight: cancel, finish, ack, leave the rest, then close', async (t) => {
  const queue = uniqueName('drain')
  const broker = await openBroker(t)
  const gate = deferred()
  const events: string[] = []
  let started = 0
  let finished = 0
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume({
        queue,
        prefetch: 100,
        concurrency: 50,
        retry: false,
        async handler() {
          started += 1
          await gate.promise
          await new Promise((resolve) => setTimeout(resolve, 5))
          finished += 1
          if (finished === 50) events.push('handlers finished')
        },
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  app.amqp.on('closed', ({ role }) => events.push(`connection closed (${role})`))
  for (let i = 0; i < 80; i += 1) await broker.send(queue, { i })
  await until(() => started === 50, 10_000, '50 handlers running')
  t.equal(app.consumers[0]?.inFlight, 50)

  const closing = app.close()
  await until(async () => (await listSharedConsumers(queue)).length === 0, 10_000, 'the consumer cancelled')
  events.push('consumer cancelled')
  t.equal(finished, 0, 'cancelled while the handlers still run')
  gate.resolve()
  await closing
  t.equal(started, 50, 'no new delivery started after the cancel')
  t.equal(finished, 50, 'every in-flight handler finished')
  t.same(events.slice(0, 2), ['consumer cancelled', 'handlers finished'])
  t.match(
    events.slice(2).sort(),
    ['connection closed (consume)', 'connection closed (publish)'],
    'then the connections'
  )
  t.equal(app.amqp.status, 'closed')
  t.equal(await settledCount(queue), 30, 'the 50 handled were acked; the 30 unstarted stay in the queue')
})

t.test('past drainTimeout, running handlers are aborted and their messages are not acked', async (t) => {
  const queue = uniqueName('drain-timeout')
  const broker = await openBroker(t)
  const reasons: unknown[] = []
  let started = 0
  const app = await buildApp(t, {
    consumer: { drainTimeout: 200 },
    declare: (app) => {
      app.consume(queue, { retry: false }, async (message) => {
        started += 1
        await new Promise<void>((resolve) =>
          message.signal.addEventListener('abort', () => {
            reasons.push(message.signal.reason)
            resolve()
          })
        )
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  await broker.send(queue, { stuck: true })
  await until(() => started === 1, 10_000, 'the handler running')
  const begin = Date.now()
  await app.close()
  t.ok(Date.now() - begin < 5_000, 'close is bounded by drainTimeout')
  t.match(reasons, [{ code: 'FST_AMQP_CONSUMER_DRAIN_TIMEOUT' }])
  t.equal(await settledCount(queue), 1, 'not acked: back in the queue for the next consumer')
})
