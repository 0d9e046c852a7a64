import { listSharedConsumers } from '@fastify-amqp/test-broker'
import t from 'tap'
import {
  buildApp,
  captureLogs,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test('the broker cancels a consumer (queue deleted): re-declared and re-subscribed exactly once', async (t) => {
  const queue = uniqueName('cancelled')
  const broker = await openBroker(t)
  const handled: number[] = []
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, {
    logger,
    declare: (app) => {
      app.consume(queue, { retry: { attempts: 2, delay: 100 } }, async (message) => {
        handled.push((message.body as { n: number }).n)
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  await broker.send(queue, { n: 1 })
  await until(() => handled.length === 1, 10_000, 'the first message')
  const before = await listSharedConsumers(queue)
  t.equal(before.length, 1)

  await broker.channel.deleteQueue(queue)
  await until(
    () => capture.text().includes('amqp consumer re-subscribed after a broker cancel'),
    10_000,
    'the re-subscription'
  )
  const after = await listSharedConsumers(queue)
  t.equal(after.length, 1, 'exactly one consumer on the re-declared queue')
  t.not(after[0]?.consumerTag, before[0]?.consumerTag, 'a new subscription')
  t.equal(app.consumers[0]?.active, true)
  await broker.send(queue, { n: 2 })
  await until(() => handled.length === 2, 10_000, 'a message on the re-declared queue')
  t.same(handled, [1, 2])
  t.equal(
    capture.lines.filter((line) => line.msg === 'amqp consumer re-subscribed after a broker cancel').length,
    1,
    'once'
  )
})

t.test("a 406 on one consumer's queue is logged with the queue and argument; the others keep consuming", async (t) => {
  const bad = uniqueName('mismatch')
  const good = uniqueName('fine')
  const broker = await openBroker(t)
  // Exists as a plain classic queue: declaring it quorum is PRECONDITION_FAILED.
  await broker.channel.assertQueue(bad, { durable: true })
  let goodHandled = 0
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, {
    logger,
    declare: (app) => {
      app.consume(bad, { queueOptions: { type: 'quorum' }, retry: false }, async () => {})
      app.consume(good, { retry: false }, async () => void goodHandled++)
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, bad)
    await deleteConsumerQueues(SHARED_URL, good)
  })
  const failure = capture.find((line) => String(line.msg).startsWith('amqp consumer setup failed'))
  t.ok(failure, 'the setup failure is logged')
  t.match(String(failure?.msg), new RegExp(`queue "${bad}".*PRECONDITION_FAILED.*x-queue-type`))
  t.equal(failure?.queue, bad)
  t.equal(app.consumers[0]?.active, false)
  t.equal(app.consumers[1]?.active, true)
  t.equal(app.amqp.connection('consume').status, 'connected', 'the connection survives the channel error')
  await broker.send(good, { ok: 1 })
  await until(() => goodHandled === 1, 10_000, 'the other consumer still consuming')
  t.equal((await listSharedConsumers(bad)).length, 0)
})
