import amqp from '@fastify-amqp/connection'
import { listSharedConsumers } from '@fastify-amqp/test-broker'
import { Type } from '@sinclair/typebox'
import { connect } from 'amqplib'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import { consumer, consumerQueueArguments } from '../src/index.js'
import type { ConsumerMessage } from '../src/types.js'
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

const Order = Type.Object({ id: Type.Integer(), total: Type.Number() })

t.test('handler gets a typed, validated body; acked on resolve; nothing left in the queue', async (t) => {
  const queue = uniqueName('orders')
  const broker = await openBroker(t)
  const seen: Array<ConsumerMessage<{ id: number; total: number }>> = []
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume({
        queue,
        schema: { body: Order },
        retry: false,
        async handler(message) {
          seen.push(message)
          message.log.info('got it')
        },
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  for (let id = 1; id <= 3; id += 1) {
    await broker.send(queue, { id, total: id * 10 }, { messageId: `order-${id}`, correlationId: `req-${id}` })
  }
  await until(() => seen.length === 3, 10_000, 'three deliveries')
  t.same(
    seen.map((m) => m.body),
    [1, 2, 3].map((id) => ({ id, total: id * 10 }))
  )
  const first = seen[0]!
  t.equal(first.queue, queue)
  t.equal(first.messageId, 'order-1')
  t.equal(first.correlationId, 'req-1')
  t.equal(first.attempt, 1)
  t.equal(first.redelivered, false)
  t.equal(first.signal.aborted, false)
  t.equal(first.fields.routingKey, queue)
  t.equal(first.properties.contentType, 'application/json')
  t.type(first.log.info, 'function')
  // Closing the app hands unacked messages back: an empty queue once settled proves they were acked.
  await app.close()
  t.equal(await settledCount(queue), 0, 'all acked: none came back at close')
})

t.test('coalesced acks: handlers finishing out of order, some failing, leave nothing unacked', async (t) => {
  const queue = uniqueName('coalesce')
  const broker = await openBroker(t)
  const handled = new Set<number>()
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume(queue, { prefetch: 50, retry: false, deadLetter: true }, async (message) => {
        const n = (message.body as { n: number }).n
        await new Promise((resolve) => setTimeout(resolve, (n * 7) % 5))
        handled.add(n)
        if (n % 25 === 0) throw new Error('every 25th fails')
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  for (let n = 1; n <= 300; n += 1) await broker.send(queue, { n })
  await until(async () => handled.size === 300 && (await broker.count(`${queue}.dlq`)) === 12, 20_000, 'all 300')
  // Closing the app hands unacked messages back: an empty queue once settled proves they were acked.
  await app.close()
  t.equal(await settledCount(queue), 0, 'every message acked, none came back at close')
  t.equal(await broker.count(`${queue}.dlq`), 12, 'the failures dead-lettered, each once')
})

t.test('message.publish goes through the confirm publisher and carries the correlation id', async (t) => {
  const queue = uniqueName('in')
  const out = uniqueName('out')
  const broker = await openBroker(t)
  // Durable: 4.x denies transient non-exclusive queues (a connection-level 541).
  await broker.channel.assertQueue(out, { durable: true })
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume(queue, { retry: false }, async (message) => {
        const receipt = await message.publish('', out, { echoed: message.body })
        t.type(receipt.messageId, 'string')
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
    await broker.deleteQueues(out)
  })
  await broker.send(queue, { n: 1 }, { correlationId: 'corr-42' })
  await until(async () => (await broker.count(out)) === 1, 10_000, 'the echoed message')
  const [echo] = await broker.drainQueue(out)
  t.same(JSON.parse(String(echo?.content)), { echoed: { n: 1 } })
  t.equal(echo?.properties.correlationId, 'corr-42')
})

t.test('consuming starts in onReady, not before', async (t) => {
  const queue = uniqueName('ready')
  const broker = await openBroker(t)
  await broker.channel.assertQueue(queue, { durable: true })
  await broker.send(queue, { early: true })
  let handled = 0
  const app = await buildApp(t, {
    ready: false,
    declare: (app) => {
      app.consume(queue, { retry: false }, async () => {
        handled += 1
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  t.equal(app.consumers[0]?.active, false)
  t.same(await listSharedConsumers(queue), [], 'no consumer on the broker before ready')
  t.equal(await broker.count(queue), 1)
  await app.ready()
  t.equal(app.consumers[0]?.active, true, 'subscribed when ready() resolves')
  await until(() => handled === 1, 10_000, 'the early message')
  t.equal((await listSharedConsumers(queue)).length, 1)
})

t.test('an existing plain durable queue is consumed as it is', async (t) => {
  const queue = uniqueName('plain')
  const broker = await openBroker(t)
  await broker.channel.assertQueue(queue, { durable: true })
  await broker.send(queue, { x: 1 })
  let handled = 0
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, {
    logger,
    declare: (app) => {
      app.consume({ queue, queueOptions: { type: 'classic' }, retry: false, handler: async () => void handled++ })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  await until(() => handled === 1, 10_000, 'the message')
  t.notMatch(capture.text(), /PRECONDITION_FAILED/)
})

t.test("encapsulation: a consumer declared in a plugin sees that plugin's decorators as `this`", async (t) => {
  const queue = uniqueName('billing')
  const broker = await openBroker(t)
  const charged: string[] = []
  const app = Fastify()
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  await app.register(amqp, { url: SHARED_URL, connectionName: uniqueName('encap') })
  await app.register(consumer)
  await app.register(async (billing: FastifyInstance) => {
    billing.decorate('billingService', { charge: (id: string) => charged.push(id) })
    billing.consume(queue, { retry: false }, async function (this: FastifyInstance, message) {
      ;(this as unknown as { billingService: { charge(id: string): void } }).billingService.charge(
        String(message.messageId)
      )
    })
  })
  await app.ready()
  t.equal(app.hasDecorator('billingService'), false, 'the decorator stays inside its plugin')
  t.same(
    app.consumers.map((c) => c.queue),
    [queue],
    'the registry is shared'
  )
  await broker.send(queue, { id: 1 }, { messageId: 'inv-1' })
  await until(() => charged.length === 1, 10_000, 'the charge')
  t.same(charged, ['inv-1'])
})

t.test('app.consumers and printConsumers() describe what was declared', async (t) => {
  const app = await buildApp(t, {
    ready: false,
    consumer: { prefetch: 20 },
    declare: (app) => {
      app
        .consume({
          queue: 'billing.order-placed',
          bindings: [{ exchange: 'orders', routingKey: 'order.placed' }],
          retry: { attempts: 3, delay: { initial: 100, factor: 2 } },
          concurrency: 5,
          handler: async () => {},
        })
        .consume('audit.all', { deadLetter: false, retry: false, queueOptions: { type: 'quorum' } }, async () => {})
    },
  })
  const [billing, audit] = app.consumers
  t.match(billing, {
    queue: 'billing.order-placed',
    prefetch: 20,
    concurrency: 5,
    retry: { attempts: 3, delays: [100, 200] },
    deadLetter: true,
    deadLetterQueue: 'billing.order-placed.dlq',
    delayQueues: ['billing.order-placed.delay.100', 'billing.order-placed.delay.200'],
    bindings: [{ exchange: 'orders', routingKey: 'order.placed' }],
    active: false,
    inFlight: 0,
  })
  t.match(audit, { queue: 'audit.all', deadLetterQueue: null, delayQueues: [], concurrency: 20 })
  t.throws(() => (app.consumers as unknown as unknown[]).push({}), TypeError, 'read-only')
  t.equal(
    app.printConsumers(),
    [
      'billing.order-placed (classic, prefetch 20, concurrency 5)',
      '├── bound to orders order.placed',
      '├── retry: 3 attempts, delays 100 ms, 200 ms',
      '└── dead letters: billing.order-placed.dlq',
      'audit.all (quorum, prefetch 20, concurrency 20)',
      '├── retry: no retries',
      '└── dead letters: rejected (deadLetter: false)',
      '',
    ].join('\n')
  )
})

t.test('declaration errors are coded and clear', async (t) => {
  const app = await buildApp(t, {
    ready: false,
    declare: (app) => {
      app.consume('dup', {}, async () => {})
    },
  })
  t.throws(() => app.consume('dup', {}, async () => {}), { code: 'FST_AMQP_CONSUMER_DUPLICATE_QUEUE' })
  t.throws(() => app.consume({ queue: 'x', handler: 'nope' as never }), { code: 'FST_AMQP_CONSUMER_INVALID_OPTION' })
  await t.rejects(async () => app.register(consumer), { code: 'FST_AMQP_CONSUMER_ALREADY_REGISTERED' })
})

t.test('a queue argument 4.x refuses fails the declaration, not the running consumer', async (t) => {
  const queue = uniqueName('v1')
  const broker = await openBroker(t)
  const app = await buildApp(t, { ready: false })
  t.throws(() => app.consume({ queue, queueOptions: { arguments: { 'x-queue-version': 1 } }, async handler() {} }), {
    code: 'FST_AMQP_CONNECTION_DEPRECATED_FEATURE',
    message: /x-queue-version: 1/,
  })
  await app.ready()
  t.same(app.consumers, [], 'nothing was declared')
  await t.rejects(broker.channel.checkQueue(queue), /404/, 'nor sent to the broker')
})

t.test('consume() after ready is refused', async (t) => {
  const app = await buildApp(t)
  t.throws(() => app.consume('late', {}, async () => {}), { code: 'FST_AMQP_CONSUMER_ALREADY_STARTED' })
})

t.test(
  'without the connection plugin, register fails: Fastify names the missing app.amqp, then the plugin',
  async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(
      async () => {
        await app.register(consumer)
        await app.ready()
      },
      {
        code: 'FST_ERR_PLUGIN_NOT_PRESENT_IN_INSTANCE',
        message: "The decorator 'amqp' required by '@fastify-amqp/consumer' is not present in Fastify",
      }
    )
    const unnamed = Fastify()
    t.teardown(() => unnamed.close())
    unnamed.decorate('amqp', {} as never) // a stand-in: Fastify checks the decorator's name only
    await t.rejects(async () => unnamed.register(consumer), {
      code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED',
      message: "The dependency '@fastify-amqp/connection' of plugin '@fastify-amqp/consumer' is not registered",
    })
  }
)

t.test('a plugin wrapping consume() with fastify-plugin still works at the root', async (t) => {
  const queue = uniqueName('fp')
  const broker = await openBroker(t)
  let handled = 0
  const app = Fastify()
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  await app.register(amqp, { url: SHARED_URL, connectionName: uniqueName('fp') })
  await app.register(consumer)
  await app.register(
    fp(async (instance: FastifyInstance) => {
      instance.consume(queue, { retry: false }, async () => void handled++)
    })
  )
  await app.ready()
  await broker.send(queue, {})
  await until(() => handled === 1, 10_000, 'the message')
  t.pass()
})

t.test('bindings: the exchange is asserted when exchangeType is given, and routes to the queue', async (t) => {
  const queue = uniqueName('bound')
  const exchange = uniqueName('ex')
  const broker = await openBroker(t)
  const keys: string[] = []
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume({
        queue,
        bindings: [
          { exchange, routingKey: 'order.*', exchangeType: 'topic' },
          { exchange, routingKey: 'invoice.paid' },
        ],
        retry: false,
        handler: async (message) => void keys.push(message.fields.routingKey),
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
    await broker.channel.deleteExchange(exchange)
  })
  for (const key of ['order.placed', 'invoice.paid', 'invoice.sent']) {
    broker.channel.publish(exchange, key, Buffer.from('{}'), { contentType: 'application/json' })
  }
  await broker.channel.waitForConfirms()
  await until(() => keys.length === 2, 10_000, 'the two routed messages')
  t.same(keys.sort(), ['invoice.paid', 'order.placed'])
})

t.test('a quorum queue with a delivery limit is declared and consumed', async (t) => {
  const queue = uniqueName('quorum')
  const broker = await openBroker(t)
  let handled = 0
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume(
        queue,
        { queueOptions: { type: 'quorum', deliveryLimit: 5 }, retry: false },
        async () => void handled++
      )
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  t.equal(app.consumers[0]?.active, true)
  await broker.send(queue, { q: 1 })
  await until(() => handled === 1, 10_000, 'the message')
  // Declaring it again as quorum with the same arguments is accepted: the queue really is quorum,
  // and consumerQueueArguments gives what a topology declaration of it must say.
  const args = consumerQueueArguments(queue, { type: 'quorum', deliveryLimit: 5 })
  t.match(args, { 'x-queue-type': 'quorum', 'x-delivery-limit': 5, 'x-dead-letter-routing-key': `${queue}.dlq` })
  await t.resolves(broker.channel.assertQueue(queue, { durable: true, arguments: args }))
})

t.test('a quorum queue gets quorum side queues, so retries and dead letters survive any one node', async (t) => {
  const queue = uniqueName('quorum-side')
  const broker = await openBroker(t)
  let tries = 0
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume(
        queue,
        { queueOptions: { type: 'quorum' }, retry: { attempts: 2, delay: 100 }, deadLetter: true },
        async () => {
          tries += 1
          throw new Error('always fails')
        }
      )
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  await broker.send(queue, { q: 1 })
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 10_000, 'the message in the DLQ')
  t.equal(tries, 2, 'retried once through the quorum delay queue, then dead-lettered')
  // Re-declaring as quorum is accepted only if the queue is quorum (a classic one answers 406).
  const model = await connect(SHARED_URL)
  t.teardown(() => model.close())
  for (const [name, args] of [
    [
      `${queue}.delay.100`,
      {
        'x-message-ttl': 100,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': queue,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    ],
    [`${queue}.dlq`, {}],
  ] as const) {
    const channel = await model.createChannel()
    channel.on('error', () => {})
    await t.resolves(
      channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum', ...args } }),
      `${name} is a quorum queue`
    )
    await channel.close()
  }
})
