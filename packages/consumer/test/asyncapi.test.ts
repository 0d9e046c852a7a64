import amqp from '@fastify-amqp/connection'
import publisherPlugin from '@fastify-amqp/publisher'
import { Type as Type034 } from '@sinclair/typebox'
import { connect } from 'amqplib'
import Fastify from 'fastify'
import t from 'tap'
import { Type } from 'typebox'
import { type AsyncApiDocument, type ConsumerPluginOptions, consumer } from '../src/index.js'
import { parseAsyncApi, receivedProperties } from './fixtures/asyncapi.js'
import { buildApp, deleteConsumerQueues, SHARED_URL, uniqueName } from './fixtures/helpers.js'

const Order = Type.Object(
  { id: Type.String(), amount: Type.Integer({ minimum: 1 }), note: Type.Optional(Type.String()) },
  { title: 'OrderPlaced' }
)
const Trace = Type.Object({ 'x-tenant': Type.String() })
const Refund = Type034.Object({
  orderId: Type034.String(),
  reason: Type034.Union([Type034.Literal('late'), Type034.Null()]),
})
const Shipped = Type.Object({ orderId: Type.String(), carrier: Type.String() })

t.test('app.asyncapi(): every consumer and publisher schema, parsed by @asyncapi/parser without errors', async (t) => {
  const orders = uniqueName('aa-orders')
  const refunds = uniqueName('aa-refunds')
  const audit = uniqueName('aa-audit')
  const exchange = uniqueName('aa-exchange')
  const fanout = uniqueName('aa-fanout')
  const app = Fastify({ logger: false })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, orders, [250])
    await deleteConsumerQueues(SHARED_URL, refunds)
    await deleteConsumerQueues(SHARED_URL, audit)
    const model = await connect(SHARED_URL)
    const channel = await model.createChannel()
    for (const name of [exchange, fanout]) await channel.deleteExchange(name)
    await model.close()
  })
  await app.register(amqp, { url: SHARED_URL, connectionName: uniqueName('asyncapi-test') })
  await app.register(publisherPlugin, {
    schemas: { [`${exchange}:order.shipped`]: Shipped, [`:${refunds}`]: Refund, 'no-colon': Shipped },
  })
  const options: ConsumerPluginOptions = {
    asyncapi: { route: '/asyncapi.json', info: { title: 'Orders', version: '2.1.0', description: 'test service' } },
  }
  await app.register(consumer, options)
  app.consume({
    queue: orders,
    bindings: [{ exchange, exchangeType: 'topic', routingKey: 'order.#' }],
    schema: { body: Order, headers: Trace },
    retry: { attempts: 3, delay: 250 },
    handler: async () => {},
  })
  app.consume(refunds, { schema: { body: Refund }, queueOptions: { type: 'quorum' }, retry: false }, async () => {})
  app.consume(
    audit,
    { bindings: [{ exchange: fanout, exchangeType: 'fanout' }], deadLetter: false, retry: false },
    () => {}
  )
  await app.ready()

  const doc = app.asyncapi()
  const { document, errors } = await parseAsyncApi(doc)
  t.same(errors, [], 'no diagnostics of severity error')
  t.equal(document.version(), '3.0.0')
  t.match(document.info().json(), { title: 'Orders', version: '2.1.0', description: 'test service' })

  // Every consumer: a receive operation on its queue, with its payload's properties, whichever TypeBox line.
  t.same(receivedProperties(document, orders), [['id', 'amount', 'note']], 'typebox 1.x body')
  t.same(receivedProperties(document, refunds), [['orderId', 'reason']], '@sinclair/typebox 0.34 body')
  t.same(receivedProperties(document, audit), [[]], 'no schema: any payload')
  const [received] = document
    .operations()
    .filterByReceive()
    .filter((op) => op.channels().all()[0]?.address() === orders)
  t.equal(received?.messages().all()[0]?.name(), 'OrderPlaced', "the schema's title names the message")
  t.same(Object.keys(received?.messages().all()[0]?.headers()?.properties() ?? {}), ['x-tenant'], 'headers schema')
  t.match(received?.json(), {
    bindings: { amqp: { ack: true } },
    'x-retry': { attempts: 3, delays: [250, 250] },
    'x-dead-letter-queue': `${orders}.dlq`,
  })

  // Every queue the consumers declared is a channel, and the broker has each after ready.
  const queues = document
    .channels()
    .all()
    .filter((channel) => channel.bindings().get('amqp')?.value().is === 'queue')
    .map((channel) => channel.address())
  t.same(new Set(queues), new Set([orders, `${orders}.delay.250`, `${orders}.dlq`, refunds, `${refunds}.dlq`, audit]))
  const model = await connect(SHARED_URL)
  t.teardown(() => model.close())
  for (const queue of queues) {
    const channel = await model.createChannel()
    await t.resolves(channel.checkQueue(queue as string), `${queue} exists on the broker`)
    await channel.close()
  }

  // The exchange a consumer binds is a channel (is: routingKey) with its type; the queue's channel links it.
  const route = document
    .channels()
    .all()
    .find((channel) => channel.address() === 'order.#')
  t.match(route?.bindings().get('amqp')?.value(), { is: 'routingKey', exchange: { name: exchange, type: 'topic' } })
  t.same(Object.keys(route?.messages().all()[0]?.payload()?.properties() ?? {}), ['id', 'amount', 'note'])
  t.match(doc.channels[orders]?.['x-bindings'], [{ exchange, routingKey: 'order.#', channel: route?.id() }])
  t.match(doc.channels[`${orders}.delay.250`], { 'x-delay-queue-of': orders, 'x-message-ttl': 250 })
  const fanoutRoute = document
    .channels()
    .all()
    .find((channel) => channel.json().title === `exchange ${fanout}`)
  t.equal(fanoutRoute?.address(), null, 'a fanout binding without a routing key has no address')

  // A dead-letter queue describes the headers the consumer adds.
  const dlq = document
    .channels()
    .all()
    .find((channel) => channel.address() === `${orders}.dlq`)
  const deadLetter = dlq?.messages().all()[0]
  const reasons = deadLetter?.headers()?.properties()?.['x-death-reason']?.enum() ?? []
  t.ok(
    ['handler-error', 'schema', 'redelivery-limit'].every((reason) => reasons.includes(reason)),
    'x-death-reason'
  )

  // Publisher schemas: send operations, on the exchange's route or (default exchange) the queue's channel.
  const sends = document.operations().filterBySend()
  t.same(sends.map((op) => op.channels().all()[0]?.address()).sort(), ['order.shipped', refunds].sort())
  const shipped = sends.find((op) => op.channels().all()[0]?.address() === 'order.shipped')
  t.same(Object.keys(shipped?.messages().all()[0]?.payload()?.properties() ?? {}), ['orderId', 'carrier'])
  t.match(shipped?.bindings().get('amqp')?.value(), { deliveryMode: 2, mandatory: true })

  // The route serves the same document.
  const served = await app.inject({ method: 'GET', url: '/asyncapi.json' })
  t.equal(served.statusCode, 200)
  t.match(served.headers['content-type'], /application\/json/)
  t.same(served.json() as AsyncApiDocument, JSON.parse(JSON.stringify(doc)))
})

t.test('asyncapi: not served by default, default info, names AsyncAPI cannot hold', async (t) => {
  const queue = `${uniqueName('aa')}.{tenant}`
  const app = await buildApp(t, {
    ready: false,
    declare: (app) => {
      app.consume(queue, { retry: false, deadLetter: false }, async () => {})
    },
  })
  t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
  // Before ready too: what is declared so far.
  const doc = app.asyncapi()
  t.match(doc.info, { title: 'fastify-amqp service', version: '1.0.0' })
  t.notOk('description' in doc.info)
  t.notOk('servers' in doc)
  const [channelId, channel] = Object.entries(doc.channels)[0] ?? []
  t.match(channelId, /^[a-zA-Z0-9._-]+$/, 'keys hold only what AsyncAPI allows')
  t.equal(channel?.address, null, 'a queue name with braces (a parameter to AsyncAPI) has no address')
  t.match(channel?.bindings.amqp, { is: 'queue', queue: { name: queue } }, 'the binding names the queue')
  t.same((await parseAsyncApi(doc)).errors, [])
  await app.ready()
  t.equal((await app.inject({ method: 'GET', url: '/asyncapi.json' })).statusCode, 404)
})

t.test('asyncapi: servers given are passed through; a schema JSON cannot hold is described', async (t) => {
  const queue = uniqueName('aa-servers')
  const servers = { production: { host: 'rabbit.example:5672', protocol: 'amqp', protocolVersion: '0.9.1' } }
  const app = await buildApp(t, {
    ready: false,
    consumer: { asyncapi: { servers } },
    declare: (app) => {
      app.consume(queue, { schema: { body: Type034.Object({ n: Type034.BigInt({ minimum: 0n }) }) } }, () => {})
    },
  })
  const doc = app.asyncapi()
  t.same(doc.servers, servers)
  t.match(Object.values(doc.components.messages)[0]?.payload, { description: /not expressible as JSON Schema/ })
  t.same((await parseAsyncApi(doc)).errors, [])
})

t.test('asyncapi options are checked at register', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['yes', /asyncapi.*expected an object/],
    [{ route: 'asyncapi.json' }, /asyncapi\.route/],
    [{ info: { title: 1 } }, /asyncapi\.info\.title/],
    [{ servers: 'amqp://x' }, /asyncapi\.servers/],
  ]
  for (const [asyncapi, message] of cases) {
    await t.rejects(
      buildApp(t, { ready: false, consumer: { asyncapi } as ConsumerPluginOptions }),
      { code: 'FST_AMQP_CONSUMER_INVALID_OPTION', message },
      JSON.stringify(asyncapi)
    )
  }
})
