import t from 'tap'
import { withHandlerTimeout } from '../src/handler-timeout.js'
import {
  buildApp,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test('a handler past handlerTimeout: aborted, retried, dead-lettered as a timeout; its slot is freed', async (t) => {
  const queue = uniqueName('hung')
  const broker = await openBroker(t)
  const hung: Array<{ attempt: number; reason?: unknown }> = []
  const handled: number[] = []
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume({
        queue,
        concurrency: 1,
        handlerTimeout: 300,
        retry: { attempts: 2, delay: 50 },
        handler: async (message) => {
          const { n, hang } = message.body as { n: number; hang?: boolean }
          if (!hang) {
            handled.push(n)
            return
          }
          const run: { attempt: number; reason?: unknown } = { attempt: message.attempt }
          hung.push(run)
          message.signal.addEventListener('abort', () => {
            run.reason = message.signal.reason
          })
          await new Promise(() => {}) // never settles, whatever the signal says
        },
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [50])
  })
  t.equal(app.consumers[0]?.handlerTimeout, 300)
  await broker.send(queue, { n: 1, hang: true }, { messageId: 'stuck' })
  await broker.send(queue, { n: 2 })
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 10_000, 'the dead letter')
  t.same(handled, [2], 'the message behind it ran: the stuck handler did not keep the only slot')
  t.match(hung, [
    { attempt: 1, reason: { code: 'FST_AMQP_CONSUMER_HANDLER_TIMEOUT' } },
    { attempt: 2, reason: { code: 'FST_AMQP_CONSUMER_HANDLER_TIMEOUT' } },
  ])
  t.equal(hung.length, 2, 'retry attempts 2: ran twice')
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  t.match(dead?.properties, {
    messageId: 'stuck',
    headers: { 'x-death-reason': 'handler-timeout', 'x-error-message': /handlerTimeout \(300 ms\)/, 'x-attempts': 2 },
  })
  t.equal(app.consumers[0]?.inFlight, 0, 'no slot held')
  await app.close()
  t.equal(await settledCount(queue), 0, 'nothing came back at close: all settled')
})

t.test('withHandlerTimeout: 0 is no limit; sync throws reject; a failure after the limit is swallowed', async (t) => {
  const timedOut = () => new Error('limit')
  t.equal(await withHandlerTimeout(() => 'done', 0, timedOut), 'done')
  await t.rejects(
    withHandlerTimeout(
      () => {
        throw new Error('sync')
      },
      1_000,
      timedOut
    ),
    { message: 'sync' }
  )
  let fail!: (err: Error) => void
  const late = new Promise((_, reject) => {
    fail = reject
  })
  await t.rejects(
    withHandlerTimeout(() => late, 10, timedOut),
    { message: 'limit' }
  )
  fail(new Error('too late')) // would be an unhandled rejection, failing the test, if not swallowed
  await new Promise((resolve) => setImmediate(resolve))
})
