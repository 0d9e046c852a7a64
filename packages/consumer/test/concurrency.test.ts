import t from 'tap'
import { buildApp, deleteConsumerQueues, openBroker, SHARED_URL, uniqueName, until } from './fixtures/helpers.js'

t.test('never more than `concurrency` handlers at once, with a larger prefetch', async (t) => {
  const queue = uniqueName('conc')
  const broker = await openBroker(t)
  let running = 0
  let max = 0
  let handled = 0
  let maxInFlight = 0
  // The queue is full before consuming starts, so deliveries arrive in bursts and the cap is reached.
  await broker.channel.assertQueue(queue, { durable: true })
  for (let i = 0; i < 120; i += 1) await broker.send(queue, { i })
  const app = await buildApp(t, {
    ready: false,
    declare: (app) => {
      app.consume({
        queue,
        prefetch: 30,
        concurrency: 4,
        retry: false,
        async handler() {
          running += 1
          max = Math.max(max, running)
          maxInFlight = Math.max(maxInFlight, app.consumers[0]?.inFlight ?? 0)
          await new Promise((resolve) => setTimeout(resolve, 20))
          running -= 1
          handled += 1
        },
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  await app.ready()
  await until(() => handled === 120, 20_000, 'all 120 handled')
  t.equal(max, 4, 'the limit was reached and never passed')
  t.equal(maxInFlight, 4)
  t.comment(`max concurrent handlers: ${max} (concurrency 4, prefetch 30)`)
})
