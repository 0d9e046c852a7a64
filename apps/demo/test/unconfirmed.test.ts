import { Writable } from 'node:stream'
import { connect } from 'amqplib'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { SHARED_URL, spyOnExchange, testConfig, until } from './fixtures/helpers.js'
import { startHoldProxy } from './fixtures/hold-proxy.js'

const order = { customer: 'ada', items: [{ sku: 'A-1', quantity: 2 }] }
const post = (app: FastifyInstance) => app.inject({ method: 'POST', url: '/orders', payload: order })
const status = async (app: FastifyInstance, id: string) =>
  (await app.inject({ method: 'GET', url: `/orders/${id}` })).json().status as string | undefined

t.test('a confirm timeout on a stored message keeps the order unconfirmed; its consumer reconciles it', async (t) => {
  // Everything the broker sends goes through the proxy: holding it, the broker stores the message and its confirm waits.
  const proxy = await startHoldProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  t.teardown(() => proxy.close())
  const config = testConfig(t, 'unconfirmed', { AMQP_URL: proxy.url(SHARED_URL) })
  const app = await buildApp(config, { logger: false, publisher: { confirmTimeout: 300 } })
  t.teardown(() => app.close())
  // Teardowns run last-in first: should an assertion fail while holding, the app still closes cleanly.
  t.teardown(() => proxy.release())
  const seen = await spyOnExchange(t, app.names.exchange)
  const { exchange, placed } = app.names
  // A confirmed publish first (unroutable, dropped): the publisher's channel is open, so the order below is written at once.
  await app.publisher.publish(exchange, 'warm-up', {}, { mandatory: false, timeout: 30_000 })

  proxy.hold()
  const res = await post(app)
  t.equal(res.statusCode, 503, "the error's status")
  t.match(res.headers['retry-after'], /^\d+$/, 'Retry-After as the publisher plugin sets it')
  const body = res.json()
  t.match(body, {
    statusCode: 503,
    code: 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT',
    status: 'unconfirmed',
    message: /kept as unconfirmed/,
  })
  const { id } = body
  t.match(id, /^[0-9a-f-]{36}$/)
  t.equal(await status(app, id), 'unconfirmed', 'GET shows the order, unconfirmed')
  // The spy's own connection is not held: the message is in the broker's queues while the publish has rejected.
  await until(() => seen.some((m) => m.routingKey === placed && m.body.id === id), 10_000, 'the message on the broker')
  t.equal(await status(app, id), 'unconfirmed', 'still unconfirmed: the consumer has not had it yet')
  t.same(app.store.counts(), { placed: 0, unconfirmed: 1, processed: 0 })

  proxy.release()
  await until(async () => (await status(app, id)) === 'processed', 15_000, 'the unconfirmed order to be processed')
  t.match((await app.inject({ method: 'GET', url: `/orders/${id}` })).json(), {
    id,
    status: 'processed',
    customer: 'ada',
  })
  t.same(app.store.counts(), { placed: 0, unconfirmed: 0, processed: 1 })
  await until(() => seen.some((m) => m.routingKey === 'order.processed'), 5_000, 'order.processed on the spy')
  t.same(
    seen.filter((m) => m.body.id === id).map((m) => m.routingKey),
    [placed, 'order.processed'],
    'one message each way'
  )
})

t.test('a publish the broker certainly did not store (mayHaveArrived: false) takes the order back', async (t) => {
  const app = await buildApp(testConfig(t, 'not-stored'), { logger: false, publisher: { maxMessageBytes: 32 } })
  t.teardown(() => app.close())
  const seen = await spyOnExchange(t, app.names.exchange)

  const res = await post(app)
  t.equal(res.statusCode, 413)
  t.match(res.json(), { statusCode: 413, code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE' })
  t.notOk('status' in res.json(), 'not the unconfirmed answer')
  t.equal(res.headers['retry-after'], undefined)
  t.same(app.store.counts(), { placed: 0, unconfirmed: 0, processed: 0 }, 'the row was taken back')

  // A marker on the same channel after it: once the spy has it, nothing about the order went out before.
  await app.publisher.publish(app.names.exchange, 'marker', {}, { mandatory: false })
  await until(() => seen.length > 0, 10_000, 'the marker on the spy')
  t.same(
    seen.map((m) => m.routingKey),
    ['marker'],
    'no message for the order'
  )
})

t.test('an order.placed delivered again after its order was processed is not processed twice', async (t) => {
  const lines: { msg?: string; orderId?: string }[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  const app = await buildApp(testConfig(t, 'duplicate'), { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const seen = await spyOnExchange(t, app.names.exchange)
  const res = await post(app)
  t.equal(res.statusCode, 202)
  const { id } = res.json()
  await until(async () => (await status(app, id)) === 'processed', 10_000, 'the order to be processed')
  const first = app.store.get(id)
  await until(() => seen.length === 2, 5_000, 'both messages on the spy')
  const placedCopy = seen[0]?.raw
  t.ok(placedCopy, 'the order.placed message as the broker delivered it')

  // The same message again, as a re-send after a lost channel would bring it (same body, same messageId).
  const connection = await connect(SHARED_URL)
  t.teardown(() => connection.close())
  const channel = await connection.createConfirmChannel()
  await new Promise<void>((resolve, reject) =>
    channel.publish(
      app.names.exchange,
      app.names.placed,
      placedCopy?.content as Buffer,
      placedCopy?.properties as object,
      (err) => (err ? reject(err) : resolve())
    )
  )
  await until(
    () => lines.some((l) => l.orderId === id && l.msg === 'order.placed for an order processed already; ignored'),
    10_000,
    'the duplicate to be handled'
  )
  await until(() => seen.length === 3, 5_000, 'the copy on the spy too')
  t.same(app.store.get(id), first, 'the order is as the first delivery left it')
  t.same(
    seen.map((m) => m.routingKey),
    [app.names.placed, 'order.processed', app.names.placed],
    'no second order.processed'
  )
})

t.test('a rejection that comes back after the order was processed answers 202', async (t) => {
  const app = await buildApp(testConfig(t, 'late-rejection'), { logger: false })
  t.teardown(() => app.close())
  // The order's publish really goes out and is confirmed; its rejection is made to come after the consumers are done.
  const publish = app.publisher.publish.bind(app.publisher)
  app.publisher.publish = (async (...args: Parameters<typeof publish>) => {
    const receipt = await publish(...args)
    if (args[1] !== app.names.placed) return receipt
    const id = args[3]?.messageId as string
    await until(() => app.store.status(id) === 'processed', 10_000, 'the order to be processed')
    throw Object.assign(new Error('the confirm came too late (simulated)'), {
      code: 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT',
      statusCode: 503,
    })
  }) as typeof publish

  const res = await post(app)
  t.equal(res.statusCode, 202, 'the order did arrive: accepted after all')
  t.equal(res.headers['retry-after'], undefined, 'no Retry-After')
  t.equal(await status(app, res.json().id), 'processed')
  t.same(app.store.counts(), { placed: 0, unconfirmed: 0, processed: 1 })
})
