import { listSharedConsumers } from '@fastify-amqp/test-broker'
import t from 'tap'
import {
  BROKER,
  buildApp,
  captureLogs,
  deferred,
  deleteConsumerQueues,
  openBroker,
  queueCounts,
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
      // deadLetter: false, so x-queue-type is the only argument at odds (a quorum queue also gets a DLX).
      app.consume(bad, { queueOptions: { type: 'quorum' }, retry: false, deadLetter: false }, async () => {})
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

const CANCEL_LOG = 'amqp consumer cancelled by the broker (consumer timeout, queue deleted, or node down)'

t.test('a consumer timeout (4.3, quorum): the hung handler aborts, the redelivered copy is handled once', async (t) => {
  if (BROKER === '3.10') {
    t.comment('3.10 closes the channel at a consumer timeout (no basic.cancel) and has no x-consumer-timeout')
    return
  }
  const queue = uniqueName('timed-out')
  const broker = await openBroker(t)
  const runs: Array<{ redelivered: boolean; aborted?: unknown }> = []
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, {
    logger,
    declare: (app) => {
      app.consume({
        queue,
        queueOptions: { type: 'quorum', arguments: { 'x-consumer-timeout': 1_000 } },
        retry: { attempts: 3, delay: 100 },
        handler: async (message) => {
          const run: { redelivered: boolean; aborted?: unknown } = { redelivered: message.redelivered }
          runs.push(run)
          if (message.redelivered) return
          // Hangs past the broker's timeout; once aborted, fails: that must not make a retry copy.
          await new Promise((_, reject) =>
            message.signal.addEventListener('abort', () => {
              run.aborted = message.signal.reason
              reject(message.signal.reason)
            })
          )
        },
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  await broker.send(queue, { n: 1 })
  await until(() => runs.length === 2, 15_000, 'the redelivered copy')
  t.match(runs[0], { redelivered: false, aborted: { code: 'FST_AMQP_CONSUMER_CANCELLED' } })
  t.match(runs[1], { redelivered: true })
  t.ok(
    capture.find((line) => String(line.msg).startsWith(CANCEL_LOG)),
    'the cancel is logged with its causes'
  )
  await until(() => capture.text().includes('re-subscribed after a broker cancel'), 10_000, 'the re-subscription')
  t.equal((await listSharedConsumers(queue)).length, 1, 'one consumer: the timed-out one is gone from the broker')
  await until(async () => (await queueCounts(queue)).unacked === 0, 10_000, 'the copy acked')
  t.equal(await broker.count(`${queue}.delay.100`), 0, 'no retry copy of the taken-back delivery')
  t.equal(await broker.count(`${queue}.dlq`), 0)
  // With the timed-out consumer left on the broker, deleting the queue sent it a second cancel that amqplib
  // cannot route: the whole consume connection went down.
  await broker.channel.deleteQueue(queue)
  // Re-subscribed on the same channel, or (4.x may answer 404 while the deletion completes) on a new one.
  await until(
    async () => app.consumers[0]?.active === true && (await listSharedConsumers(queue)).length === 1,
    15_000,
    'a consumer on the re-declared queue'
  )
  t.notOk(
    capture.find((line) => String(line.msg).startsWith('amqp connection lost')),
    'the connection survives'
  )
  t.equal(runs.length, 2, 'the message was handled once, and once given up')
})

t.test(
  'a queue deleted under a running handler: its signal aborts, its late failure republishes nothing',
  async (t) => {
    const queue = uniqueName('deleted-running')
    const broker = await openBroker(t)
    const started = deferred()
    let aborted: unknown
    const { capture, logger } = captureLogs()
    const app = await buildApp(t, {
      logger,
      declare: (app) => {
        app.consume(queue, { retry: { attempts: 3, delay: 100 } }, async (message) => {
          started.resolve()
          await new Promise((_, reject) =>
            message.signal.addEventListener('abort', () => {
              aborted = message.signal.reason
              reject(new Error('gave up'))
            })
          )
        })
      },
    })
    t.teardown(async () => {
      await app.close()
      await deleteConsumerQueues(SHARED_URL, queue, [100])
    })
    await broker.send(queue, { n: 1 })
    await started.promise
    await broker.channel.deleteQueue(queue)
    await until(() => aborted !== undefined, 10_000, 'the abort')
    t.match(aborted, { code: 'FST_AMQP_CONSUMER_CANCELLED' })
    await until(() => capture.text().includes('re-subscribed after a broker cancel'), 10_000, 'the re-subscription')
    t.ok(capture.find((line) => String(line.msg).startsWith(CANCEL_LOG)))
    t.ok(capture.find((line) => String(line.msg).includes('handler failed after its delivery was given up')))
    t.equal(await broker.count(`${queue}.delay.100`), 0, 'no retry copy')
    t.equal(app.amqp.connection('consume').status, 'connected')
    t.equal(app.consumers[0]?.active, true)
  }
)
