import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { ConsumerSettings } from '../src/index.js'
import {
  buildApp,
  deleteConsumerQueues,
  openBroker,
  queueArguments,
  SHARED_URL,
  uniqueName,
  until,
} from './fixtures/helpers.js'

interface Seen {
  bodies: number[]
  tags: string[]
}

/** An app consuming `queue` with these settings, recording each body's `i` and consumer tag. */
async function consumingApp(
  t: Test,
  queue: string,
  settings: ConsumerSettings,
  ready = true
): Promise<{ app: FastifyInstance; seen: Seen }> {
  const seen: Seen = { bodies: [], tags: [] }
  const app = await buildApp(t, {
    ready,
    consumer: { retry: false },
    declare: (app) => {
      app.consume(queue, settings, async (message) => {
        seen.bodies.push((message.body as { i: number }).i)
        seen.tags.push(message.fields.consumerTag)
      })
    },
  })
  return { app, seen }
}

function cleanUp(t: Test, queue: string): void {
  t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
}

t.test('singleActiveConsumer: one instance gets every delivery; the next takes over when it goes', async (t) => {
  const queue = uniqueName('sac')
  cleanUp(t, queue)
  const broker = await openBroker(t)
  const settings = { queueOptions: { singleActiveConsumer: true } }
  const first = await consumingApp(t, queue, settings)
  const second = await consumingApp(t, queue, settings)
  t.equal((await broker.channel.checkQueue(queue)).consumerCount, 2, 'both subscribed')
  for (let i = 0; i < 10; i += 1) await broker.send(queue, { i })
  await until(() => first.seen.bodies.length === 10, 10_000, 'the first instance to take all ten')
  t.same(second.seen.bodies, [], 'the standby got nothing')
  await first.app.close()
  for (let i = 10; i < 20; i += 1) await broker.send(queue, { i })
  await until(() => second.seen.bodies.length === 10, 10_000, 'the standby to take over')
  t.same(second.seen.bodies, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 'in order')
})

t.test('maxPriority: higher priorities first; the DLQ keeps the priority argument', async (t) => {
  const queue = uniqueName('prio')
  cleanUp(t, queue)
  const broker = await openBroker(t)
  const { app, seen } = await consumingApp(t, queue, { queueOptions: { maxPriority: 10 }, prefetch: 1 }, false)
  await app.pauseConsumer(queue)
  await app.ready()
  for (const [i, priority] of [
    [1, 1],
    [2, 5],
    [3, 9],
    [4, 5],
  ] as const)
    await broker.send(queue, { i }, { priority })
  await until(async () => (await broker.count(queue)) === 4, 10_000, 'all four waiting')
  await app.resumeConsumer(queue)
  await until(() => seen.bodies.length === 4, 10_000, 'all four handled')
  t.same(seen.bodies, [3, 2, 4, 1], 'priority 9, then the two 5s in order, then 1')
  t.match(await queueArguments(queue), { 'x-max-priority': 10 })
  t.match(await queueArguments(`${queue}.dlq`), { 'x-max-priority': 10 })
})

t.test('priority: the broker feeds the higher-priority consumer while it has room', async (t) => {
  const queue = uniqueName('consumer-prio')
  cleanUp(t, queue)
  const broker = await openBroker(t)
  const low = await consumingApp(t, queue, { priority: 0, prefetch: 50 })
  const high = await consumingApp(t, queue, { priority: 10, prefetch: 50 })
  for (let i = 0; i < 20; i += 1) await broker.send(queue, { i })
  await until(() => high.seen.bodies.length === 20, 10_000, 'the high-priority consumer to take all twenty')
  t.same(low.seen.bodies, [])
})

t.test('consumerTagPrefix names every subscription, again after a re-subscribe', async (t) => {
  const queue = uniqueName('tags')
  cleanUp(t, queue)
  const broker = await openBroker(t)
  const { app, seen } = await consumingApp(t, queue, { consumerTagPrefix: 'orders-api' })
  await broker.send(queue, { i: 1 })
  await until(() => seen.tags.length === 1, 10_000, 'the first delivery')
  await app.pauseConsumer(queue)
  await app.resumeConsumer(queue)
  await broker.send(queue, { i: 2 })
  await until(() => seen.tags.length === 2, 10_000, 'the second delivery')
  t.match(seen.tags, [/^orders-api\.[0-9a-f-]{36}$/, /^orders-api\.[0-9a-f-]{36}$/])
  t.not(seen.tags[0], seen.tags[1], 'a new tag per subscription')
})

t.test('exclusiveConsumer: a second instance is refused until the first goes, then consumes', async (t) => {
  const queue = uniqueName('exclusive')
  cleanUp(t, queue)
  const broker = await openBroker(t)
  const first = await consumingApp(t, queue, { exclusiveConsumer: true })
  const second = await consumingApp(t, queue, { exclusiveConsumer: true })
  t.equal(second.app.consumers[0]?.active, false, 'the second is refused (403) and retries')
  t.equal((await broker.channel.checkQueue(queue)).consumerCount, 1)
  await broker.send(queue, { i: 1 })
  await until(() => first.seen.bodies.length === 1, 10_000, 'the first to consume')
  await first.app.close()
  await until(() => second.app.consumers[0]?.active === true, 15_000, 'the second to subscribe once the first is gone')
  await broker.send(queue, { i: 2 })
  await until(() => second.seen.bodies.length === 1, 10_000, 'the second to consume')
})

t.test('consumer options are checked when declared', async (t) => {
  const cases: Array<[ConsumerSettings, string]> = [
    [{ queueOptions: { type: 'quorum', maxPriority: 5 } }, 'queueOptions.maxPriority'],
    [{ queueOptions: { maxPriority: 256 } }, 'queueOptions.maxPriority'],
    [{ queueOptions: { singleActiveConsumer: 'yes' as never } }, 'queueOptions.singleActiveConsumer'],
    [{ priority: 1.5 }, 'priority'],
    [{ consumerTagPrefix: '' }, 'consumerTagPrefix'],
    [{ exclusiveConsumer: 1 as never }, 'exclusiveConsumer'],
  ]
  const app = await buildApp(t, { ready: false })
  for (const [settings, field] of cases) {
    t.throws(() => app.consume(uniqueName('bad'), settings, async () => {}), {
      code: 'FST_AMQP_CONSUMER_INVALID_OPTION',
      message: new RegExp(`"${field.replace('.', '\\.')}"`),
    })
  }
})
