// The hop from a delay queue back to its main queue is the broker's at-least-once dead-lettering: a retry
// whose main queue is missing when its delay runs out is kept, and arrives once the queue is back.

import { startBroker } from '@fastify-amqp/test-broker'
import t from 'tap'
import { delayQueueName } from '../src/options.js'
import { buildApp, deferred, openBroker, uniqueName, until } from './fixtures/helpers.js'

// The broker tries a held dead letter again this often (default 180 s; the setting's name differs by version).
const RETRY_MS = 1_000
const node = await startBroker({
  rabbitEnv: {
    dead_letter_worker_publisher_confirm_timeout: RETRY_MS,
    dead_letter_worker_publisher_confirm_timeout_ms: RETRY_MS,
  },
})
t.teardown(() => node.dispose())

// Long enough to close the app and delete its queue before the copy is due.
const DELAY = 3_000

for (const type of ['classic', 'quorum'] as const) {
  t.test(`${type} queue: a retry due while its main queue is missing waits, then arrives`, async (t) => {
    const queue = uniqueName(`hop-${type}`)
    const delayQueue = delayQueueName(queue, DELAY)
    const broker = await openBroker(t, node.url)
    const failed = deferred()
    const first = await buildApp(t, {
      connection: { url: node.url },
      declare: (app) => {
        app.consume({
          queue,
          queueOptions: { type },
          retry: { attempts: 2, delay: DELAY },
          async handler() {
            failed.resolve()
            throw new Error('the first try fails')
          },
        })
      },
    })
    await broker.send(queue, { n: 1 })
    await failed.promise
    await until(async () => (await broker.count(delayQueue)) === 1, 10_000, 'the retry copy in its delay queue')
    // The app goes (nothing re-declares the queue), then the queue: the copy falls due with nowhere to go.
    await first.close()
    await broker.channel.deleteQueue(queue)
    await until(async () => (await broker.count(delayQueue)) === 0, 20_000, 'the copy due (no longer ready)')

    const attempts: number[] = []
    const arrived = deferred()
    // A new app declares the queue again; the broker's next try delivers the held copy to it.
    await buildApp(t, {
      connection: { url: node.url },
      declare: (app) => {
        app.consume({
          queue,
          queueOptions: { type },
          retry: { attempts: 2, delay: DELAY },
          async handler(message) {
            attempts.push(message.attempt)
            arrived.resolve()
          },
        })
      },
    })
    await Promise.race([
      arrived.promise,
      until(() => false, 30 * RETRY_MS, 'the held retry copy to arrive').catch((err) => t.fail(String(err))),
    ])
    t.same(attempts, [2], 'the retry arrived, as the second try')
  })
}
