import { startFaultProxy } from '@fastify-amqp/test-broker'
import t from 'tap'
import {
  buildApp,
  captureLogs,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test('classic queue: a message whose handler kills its connection every time is dead-lettered', async (t) => {
  const queue = uniqueName('crash-classic')
  const broker = await openBroker(t)
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
  t.teardown(() => proxy.close())
  const runs = new Map<string, number>()
  const { capture, logger } = captureLogs('warn')
  const app = await buildApp(t, {
    logger,
    connection: { url: proxy.url(SHARED_URL) },
    declare: (app) => {
      app.consume(queue, { maxDeliveries: 3, retry: { attempts: 5, delay: 100 } }, async (message) => {
        const id = String(message.messageId)
        runs.set(id, (runs.get(id) ?? 0) + 1)
        if (id !== 'crash') return
        // Stands for a crash that takes the connection down (an event loop blocked past the heartbeat, say):
        // the handler never finishes on a live channel.
        proxy.cut()
        await new Promise((resolve) => message.signal.addEventListener('abort', resolve))
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  await broker.send(queue, { n: 1 }, { messageId: 'crash' })
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 30_000, 'the dead letter')
  t.equal(runs.get('crash'), 3, 'the handler ran maxDeliveries times, not once more')
  await broker.send(queue, { n: 2 }, { messageId: 'next' })
  await until(() => runs.get('next') === 1, 10_000, 'the next message handled')
  await app.close()
  t.equal(await settledCount(queue), 0)
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  t.equal(dead?.properties.messageId, 'crash')
  t.equal(dead?.properties.headers?.['x-death-reason'], 'redelivery-limit')
  t.match(dead?.properties.headers?.['x-error-message'], /delivered 3 times before without its handler finishing/)
  t.equal(await settledCount(`${queue}.delay.100`), 0, 'never retried: crashes are no handler failures')
  t.match(
    capture.find((line) => line.msg === 'amqp consumer: redelivery limit reached, dead-lettering it unrun'),
    {
      messageId: 'crash',
      deliveries: 3,
      maxDeliveries: 3,
    }
  )
})

t.test('quorum queue: a message whose handler never finishes before each restart is dead-lettered', async (t) => {
  const queue = uniqueName('crash-quorum')
  const broker = await openBroker(t)
  t.teardown(() => deleteConsumerQueues(SHARED_URL, queue, [100]))
  let runs = 0
  const start = () =>
    buildApp(t, {
      // A deploy that gives up on the hanging handler (drainTimeout) each time: a new process, no memory.
      consumer: { drainTimeout: 200 },
      declare: (app) => {
        app.consume(queue, { queueOptions: { type: 'quorum' }, maxDeliveries: 3, retry: false }, async (message) => {
          runs += 1
          await new Promise((resolve) => message.signal.addEventListener('abort', resolve))
        })
      },
    })
  let app = await start()
  await broker.send(queue, { n: 1 }, { messageId: 'hangs' })
  for (let restart = 1; restart <= 3; restart += 1) {
    await until(() => runs === restart, 20_000, `run ${restart}`)
    await app.close()
    app = await start()
  }
  // The fourth delivery carries x-delivery-count 3: dead-lettered before the handler runs.
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 20_000, 'the dead letter')
  t.equal(runs, 3, 'the handler ran maxDeliveries times')
  await app.close()
  t.equal(await settledCount(queue), 0)
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  t.equal(dead?.properties.messageId, 'hangs')
  t.equal(dead?.properties.headers?.['x-death-reason'], 'redelivery-limit')
})
