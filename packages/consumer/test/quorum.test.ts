import t from 'tap'
import { consumerQueueArguments } from '../src/index.js'
import {
  BROKER,
  buildApp,
  captureLogs,
  deferred,
  deleteConsumerQueues,
  openBroker,
  queueArguments,
  rejectUntil,
  rejectUntilDeadLettered,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test('a quorum queue without deliveryLimit dead-letters what the broker drops at its default limit', async (t) => {
  const queue = uniqueName('qq-default-limit')
  const broker = await openBroker(t)
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume({ queue, queueOptions: { type: 'quorum' }, retry: false, handler: async () => {} })
    },
  })
  t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
  await app.close() // declared; now play a client that keeps failing on the message
  t.same(await queueArguments(queue), {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': `${queue}.dlq`,
  })
  if (BROKER === '3.10') {
    t.comment('3.10 gives quorum queues no default delivery limit: only the arguments can be checked here')
    return
  }
  await broker.send(queue, { n: 1 })
  // A client crashing on the message; 4.0 caps it at 20 redeliveries.
  const rejected = await rejectUntilDeadLettered(broker, queue)
  t.ok(rejected > 20, `dead-lettered after ${rejected} rejections, not dropped`)
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  t.same(JSON.parse(String(dead?.content)), { n: 1 })
  t.match(dead?.properties.headers, {
    'x-first-death-reason': 'delivery_limit',
    'x-first-death-queue': queue,
    'x-death': [{ reason: 'delivery_limit', queue }],
  })
  t.equal(await broker.count(queue), 0)
})

t.test('deadLetter: false on a quorum queue: no DLX, and a warning that the broker drops at its limit', async (t) => {
  const queue = uniqueName('qq-no-dlq')
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, {
    logger,
    declare: (app) => {
      app.consume({ queue, queueOptions: { type: 'quorum' }, deadLetter: false, handler: async () => {} })
      app.consume({
        queue: `${queue}-own-dlx`,
        queueOptions: { type: 'quorum', arguments: { 'x-dead-letter-exchange': 'mine' } },
        deadLetter: false,
        handler: async () => {},
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
    await deleteConsumerQueues(SHARED_URL, `${queue}-own-dlx`)
  })
  t.same(await queueArguments(queue), { 'x-queue-type': 'quorum' })
  const warnings = capture.lines.filter((line) => String(line.msg).includes('the broker drops messages at'))
  t.equal(warnings.length, 1, 'once, and not for the queue with a DLX of its own')
  t.equal(warnings[0]?.queue, queue)
  t.match(String(warnings[0]?.msg), "a quorum queue's default delivery limit (20 on RabbitMQ 4.x)")
})

t.test("message.deliveryCount is the quorum queue's count of failed deliveries; 0 on a classic queue", async (t) => {
  const queue = uniqueName('qq-count')
  const classic = uniqueName('classic-count')
  const broker = await openBroker(t)
  t.teardown(async () => {
    await deleteConsumerQueues(SHARED_URL, queue)
    await deleteConsumerQueues(SHARED_URL, classic)
  })
  // Declared as the consumer will, then failed twice by another client before the consumer starts.
  await broker.channel.assertQueue(queue, {
    durable: true,
    arguments: consumerQueueArguments(queue, { type: 'quorum' }),
  })
  await broker.channel.assertQueue(classic, { durable: true })
  await broker.send(queue, { n: 1 })
  await broker.send(classic, { n: 2 })
  await rejectUntil(broker, queue, (rejected) => rejected === 2, 10_000)
  const seen = new Map<string, { deliveryCount: number; redelivered: boolean }>()
  await buildApp(t, {
    declare: (app) => {
      for (const name of [queue, classic]) {
        app.consume({
          queue: name,
          queueOptions: name === queue ? { type: 'quorum' } : {},
          retry: false,
          handler: async (message) => void seen.set(name, message),
        })
      }
    },
  })
  await until(() => seen.size === 2, 10_000, 'both messages')
  t.match(seen.get(queue), { deliveryCount: 2, redelivered: true })
  t.match(seen.get(classic), { deliveryCount: 0, redelivered: false })
})

t.test(
  "the drain's hand-back of unstarted deliveries is a basic.nack: it does not spend the delivery limit",
  async (t) => {
    if (BROKER === '3.10') {
      t.comment('3.10 counts every return towards the limit, basic.nack included: nothing to tell apart there')
      return
    }
    const queue = uniqueName('qq-drain')
    const broker = await openBroker(t)
    t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
    await broker.channel.assertQueue(queue, {
      durable: true,
      arguments: consumerQueueArguments(queue, { type: 'quorum', deliveryLimit: 1 }),
    })
    for (const n of [1, 2, 3]) await broker.send(queue, { n })
    const seen: Array<{ n: number; deliveryCount: number; redelivered: boolean }> = []
    // Three app lifetimes: each handles one message and, closing, hands the unstarted ones back.
    for (let round = 1; round <= 3; round += 1) {
      const gate = deferred()
      const app = await buildApp(t, {
        declare: (app) => {
          app.consume({
            queue,
            queueOptions: { type: 'quorum', deliveryLimit: 1 },
            prefetch: 3,
            concurrency: 1,
            retry: false,
            handler: async ({ body, deliveryCount, redelivered }) => {
              seen.push({ n: (body as { n: number }).n, deliveryCount, redelivered })
              await gate.promise
            },
          })
        },
      })
      const left = 3 - round
      await until(async () => seen.length === round && (await broker.count(queue)) === 0, 10_000, 'all delivered')
      const closing = app.close()
      await until(async () => (await broker.count(queue)) === left, 10_000, 'the unstarted handed back')
      gate.resolve()
      await closing
    }
    t.same(
      seen.map(({ n }) => n),
      [1, 2, 3],
      'each handled once, none dead-lettered'
    )
    t.match(seen[2], { deliveryCount: 0, redelivered: true }, 'handed back twice past a limit of 1, not counted')
    t.equal(await broker.count(`${queue}.dlq`), 0)
    t.equal(await settledCount(queue), 0, 'the last one acked: none came back at close')
  }
)
