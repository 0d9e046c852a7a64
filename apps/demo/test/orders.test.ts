import t from 'tap'
import { buildApp } from '../src/app.js'
import { spyOnExchange as spy, testConfig, until } from './fixtures/helpers.js'

t.test('an order is accepted after its message is confirmed, then processed', async (t) => {
  const app = await buildApp(testConfig(t, 'flow'), { logger: false })
  t.teardown(() => app.close())
  const seen = await spy(t, app.names.exchange)

  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    payload: { customer: 'ada', items: [{ sku: 'A-1', quantity: 2 }] },
  })
  t.equal(res.statusCode, 202)
  const { id } = res.json()
  t.match(id, /^[0-9a-f-]{36}$/)
  t.match(app.store.get(id), { status: /^(placed|processed)$/ }, 'stored at once')

  await until(() => app.store.get(id)?.status === 'processed', 10_000, 'the order to be processed')
  const order = await app.inject({ method: 'GET', url: `/orders/${id}` })
  t.equal(order.statusCode, 200)
  t.match(order.json(), { id, status: 'processed', customer: 'ada', items: [{ sku: 'A-1', quantity: 2 }] })
  t.type(order.json().processedAt, 'string')

  await until(() => seen.length === 2, 5_000, 'both messages on the spy queue')
  t.same(
    seen.map((m) => [m.routingKey, m.body.id]),
    [
      ['order.placed', id],
      ['order.processed', id],
    ]
  )
  t.equal(seen[0]?.correlationId, seen[1]?.correlationId, 'the request id follows the order through both messages')

  const missing = await app.inject({ method: 'GET', url: '/orders/no-such-order' })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { statusCode: 404, message: /no-such-order/ })
})

t.test('invalid orders get 400 and leave no row and no message', async (t) => {
  const app = await buildApp(testConfig(t, 'invalid'), { logger: false })
  t.teardown(() => app.close())
  const seen = await spy(t, app.names.exchange)
  const item = { sku: 'A-1', quantity: 1 }
  const invalid: [string, unknown][] = [
    ['empty object', {}],
    ['no items', { customer: 'ada' }],
    ['no customer', { items: [item] }],
    ['empty customer', { customer: '', items: [item] }],
    ['customer not a string', { customer: 42, items: [item] }],
    ['empty items', { customer: 'ada', items: [] }],
    ['items not an array', { customer: 'ada', items: item }],
    ['quantity 0', { customer: 'ada', items: [{ sku: 'A', quantity: 0 }] }],
    ['quantity not an integer', { customer: 'ada', items: [{ sku: 'A', quantity: 1.5 }] }],
    ['quantity as a string', { customer: 'ada', items: [{ sku: 'A', quantity: '2' }] }],
    ['item without sku', { customer: 'ada', items: [{ quantity: 1 }] }],
    ['extra field', { customer: 'ada', items: [item], total: 10 }],
    ['extra item field', { customer: 'ada', items: [{ ...item, price: 3 }] }],
    ['an array', [item]],
  ]
  for (const [name, payload] of invalid) {
    const res = await app.inject({ method: 'POST', url: '/orders', payload: payload as object })
    t.equal(res.statusCode, 400, name)
  }
  const notJson = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { 'content-type': 'application/json' },
    payload: '{"customer": "ada", "items": [',
  })
  t.equal(notJson.statusCode, 400, 'malformed JSON')
  t.same(app.store.counts(), { placed: 0, unconfirmed: 0, processed: 0 }, 'no row')

  // A valid order afterwards proves the spy sees what is published: its messages are the only ones.
  const valid = await app.inject({ method: 'POST', url: '/orders', payload: { customer: 'ada', items: [item] } })
  t.equal(valid.statusCode, 202)
  const { id } = valid.json()
  await until(() => seen.length >= 2, 10_000, 'the valid order to go through')
  t.same(
    seen.map((m) => m.body.id),
    [id, id],
    'no message for any invalid order'
  )
  t.same(app.store.counts(), { placed: 0, unconfirmed: 0, processed: 1 })
})

t.test('retries and the dead-letter queue are visible in /stats', async (t) => {
  const app = await buildApp(testConfig(t, 'retry'), { logger: false })
  t.teardown(() => app.close())
  const post = async (sku: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: { customer: 'ada', items: [{ sku, quantity: 1 }] },
    })
    t.equal(res.statusCode, 202)
    return res.json().id as string
  }
  const flaky = await post('FLAKY-1')
  const poison = await post('POISON-1')
  await until(() => app.store.get(flaky)?.status === 'processed', 10_000, 'the flaky order to succeed on its retry')

  const dlq = `${app.names.processQueue}.dlq`
  const dlqDepth = async () => {
    const res = await app.inject({ method: 'GET', url: '/stats' })
    return (res.json().queues as { queue: string; messages: number }[]).find((q) => q.queue === dlq)?.messages
  }
  await until(async () => (await dlqDepth()) === 1, 15_000, 'the poison order in the dead-letter queue')
  t.equal(app.store.get(poison)?.status, 'placed', 'a dead-lettered order stays placed')

  const stats = (await app.inject({ method: 'GET', url: '/stats' })).json()
  t.match(stats, {
    orders: { placed: 1, unconfirmed: 0, processed: 1 },
    amqp: 'connected',
    consumers: [
      { queue: app.names.processQueue, active: true, attempts: 3, retryDelays: [500, 1000], deadLetterQueue: dlq },
      { queue: app.names.recordQueue, active: true },
    ],
  })
})

t.test('a closed publisher: 503 with Retry-After, and the row follows the rejection mayHaveArrived', async (t) => {
  const app = await buildApp(testConfig(t, 'unavailable'), { logger: false })
  t.teardown(() => app.close())
  // A closed publisher rejects every publish as unavailable.
  await app.publisher.close()
  const refused = await app.publisher.publish(app.names.exchange, app.names.placed, {}).then(
    () => null,
    (err: { mayHaveArrived?: boolean }) => err
  )
  t.ok(refused, 'a publish after close rejects')
  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    payload: { customer: 'ada', items: [{ sku: 'A', quantity: 1 }] },
  })
  t.equal(res.statusCode, 503)
  t.match(res.headers['retry-after'], /^\d+$/)
  t.match(res.json(), { code: 'FST_AMQP_PUBLISHER_CLOSED' })
  // Refused before writing, the publisher can say the message was not stored; without that flag it may have been.
  if (refused?.mayHaveArrived === false) {
    t.notOk('status' in res.json())
    t.same(app.store.counts(), { placed: 0, unconfirmed: 0, processed: 0 }, 'not stored: the row was taken back')
  } else {
    t.match(res.json(), { status: 'unconfirmed', id: String })
    t.same(app.store.counts(), { placed: 0, unconfirmed: 1, processed: 0 }, 'may have arrived: kept, unconfirmed')
  }
})
