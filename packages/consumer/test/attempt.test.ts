import { Type } from '@sinclair/typebox'
import type { ConsumeMessage } from 'amqplib'
import t from 'tap'
import { attemptOf } from '../src/delivery.js'
import { header, headersOf } from '../src/headers.js'
import { buildApp, deleteConsumerQueues, openBroker, SHARED_URL, uniqueName, until } from './fixtures/helpers.js'

// A header table named __proto__: amqplib writes an own __proto__ key, and its decoder turns it into the
// headers' prototype on the way in (checked below on a raw delivery).
function protoHeaders(inner: Record<string, unknown>, own: Record<string, unknown> = {}): Record<string, unknown> {
  const headers = { ...own }
  Object.defineProperty(headers, '__proto__', { value: inner, enumerable: true, writable: true, configurable: true })
  return headers
}

interface Run {
  id: string
  attempt: number
  proto: boolean
  ownAttempt: boolean
}

async function failingConsumer(
  t: { teardown(fn: () => unknown): void },
  queue: string,
  options: { quorum?: boolean } = {}
) {
  const runs: Run[] = []
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume({
        queue,
        queueOptions: options.quorum ? { type: 'quorum' } : undefined,
        retry: { attempts: 3, delay: 100 },
        async handler(message) {
          const headers = message.headers as Record<string, unknown>
          runs.push({
            id: String(message.messageId),
            attempt: message.attempt,
            proto: Object.getPrototypeOf(headers) === Object.prototype,
            ownAttempt: Object.hasOwn(headers, 'x-attempt'),
          })
          throw new Error(`fails (try ${message.attempt})`)
        },
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  return { app, runs }
}

t.test('an attempt count a publisher sets is not believed: every try runs, then one dead letter', async (t) => {
  const queue = uniqueName('attempt-forged')
  const broker = await openBroker(t)
  // The input does what it says: a raw amqplib consumer reads x-attempt 99 through the prototype.
  const probe = uniqueName('attempt-probe')
  await broker.channel.assertQueue(probe, { durable: true })
  t.teardown(() => broker.deleteQueues(probe))
  await broker.send(probe, { n: 0 }, { headers: protoHeaders({ 'x-attempt': 99 }) })
  let raw: Record<string, unknown> | undefined
  await until(async () => {
    const got = await broker.channel.get(probe, { noAck: true })
    raw = got ? (got.properties.headers as Record<string, unknown>) : undefined
    return got !== false
  })
  t.equal(raw?.['x-attempt'], 99, 'amqplib: inherited x-attempt 99')
  t.same(Object.keys(raw ?? {}), [], 'amqplib: no own keys')

  const { runs } = await failingConsumer(t, queue)
  await broker.send(
    queue,
    { n: 1 },
    { messageId: 'proto', headers: protoHeaders({ 'x-attempt': 99 }, { tenant: 'acme' }) }
  )
  await broker.send(queue, { n: 2 }, { messageId: 'plain', headers: { 'x-attempt': 99 } })
  await broker.send(queue, { n: 3 }, { messageId: 'string', headers: { 'x-attempt': '3' } })
  await until(async () => (await broker.count(`${queue}.dlq`)) === 3, 15_000, 'three dead letters')
  for (const id of ['proto', 'plain', 'string']) {
    t.same(
      runs.filter((run) => run.id === id).map((run) => run.attempt),
      [1, 2, 3],
      `${id}: attempts 3 means three runs, from try 1`
    )
  }
  t.ok(
    runs.every((run) => run.proto),
    'message.headers never has a prototype other than Object.prototype'
  )
  t.notOk(
    runs.find((run) => run.id === 'proto' && run.attempt === 1)?.ownAttempt,
    'the __proto__ table is not a header'
  )
  const dead = await broker.drainQueue(`${queue}.dlq`)
  t.equal(dead.length, 3, 'each dead-lettered once')
  const proto = dead.find((d) => d.properties.messageId === 'proto')
  t.match(proto?.properties.headers, {
    tenant: 'acme',
    'x-attempts': 3,
    'x-attempt': 3,
    'x-death-reason': 'handler-error',
  })
})

t.test('a dead letter moved back into its queue (count and all) gets all its tries again', async (t) => {
  const queue = uniqueName('attempt-replay')
  const broker = await openBroker(t)
  const { runs } = await failingConsumer(t, queue)
  await broker.send(queue, { n: 1 }, { messageId: 'replayed' })
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 15_000, 'the dead letter')
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  t.match(dead?.properties.headers, { 'x-attempt': 3 })
  // As a shovel or a "move messages" would: same bytes, same properties.
  await broker.send(queue, dead?.content ?? Buffer.alloc(0), dead?.properties)
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 15_000, 'the second dead letter')
  t.same(
    runs.map((run) => run.attempt),
    [1, 2, 3, 1, 2, 3]
  )
})

t.test('the consumer’s own retries are counted, on a quorum queue too (no reset: no endless retries)', async (t) => {
  for (const quorum of [false, true]) {
    t.test(quorum ? 'quorum' : 'classic', async (t) => {
      const queue = uniqueName(`attempt-own-${quorum ? 'qq' : 'cq'}`)
      const broker = await openBroker(t)
      const { runs } = await failingConsumer(t, queue, { quorum })
      await broker.send(queue, { n: 1 }, { messageId: 'own' })
      await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 15_000, 'the dead letter')
      t.same(
        runs.map((run) => run.attempt),
        [1, 2, 3]
      )
      const [dead] = await broker.drainQueue(`${queue}.dlq`)
      t.match(dead?.properties.headers, { 'x-attempts': 3 })
    })
  }
})

t.test('a header schema is not satisfied by a value inherited from a __proto__ table', async (t) => {
  const queue = uniqueName('attempt-schema')
  const broker = await openBroker(t)
  const handled: unknown[] = []
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume({
        queue,
        schema: { headers: Type.Object({ tenant: Type.String() }) },
        retry: false,
        async handler(message) {
          handled.push(message.headers)
        },
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  await broker.send(queue, { n: 1 }, { messageId: 'inherited', headers: protoHeaders({ tenant: 'acme' }) })
  await broker.send(queue, { n: 2 }, { messageId: 'own', headers: { tenant: 'acme' } })
  await until(async () => handled.length === 1 && (await broker.count(`${queue}.dlq`)) === 1, 10_000, 'both')
  t.same(handled, [{ tenant: 'acme' }])
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  t.match(dead?.properties, { messageId: 'inherited', headers: { 'x-death-reason': 'schema' } })
})

// The rule itself, on crafted deliveries (the broker's side of it is in the tests above).
function delivery(headers: Record<string, unknown>, fields: Partial<ConsumeMessage['fields']> = {}): ConsumeMessage {
  return {
    content: Buffer.from('{}'),
    fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q', consumerTag: 'c', ...fields },
    properties: { headers },
  } as unknown as ConsumeMessage
}
const hop = (queue: string, reason = 'expired') => [{ count: 1, reason, queue, exchange: '', 'routing-keys': [queue] }]

t.test('attemptOf believes x-attempt only on a copy back from one of its queue’s delay queues', async (t) => {
  t.equal(attemptOf(delivery({ 'x-attempt': 3, 'x-death': hop('q.delay.100') })), 3, 'back from q.delay.100')
  t.equal(attemptOf(delivery({ 'x-attempt': '2', 'x-death': hop('q.delay.0') })), 2, 'a numeric string, 0 ms delay')
  t.equal(attemptOf(delivery({ 'x-attempt': 3 })), 1, 'no x-death')
  t.equal(attemptOf(delivery({ 'x-attempt': 3, 'x-death': hop('q.delay.100', 'rejected') })), 1, 'not expired')
  t.equal(attemptOf(delivery({ 'x-attempt': 3, 'x-death': hop('other.delay.100') })), 1, "another queue's delay queue")
  t.equal(attemptOf(delivery({ 'x-attempt': 3, 'x-death': hop('q.dlq') })), 1, 'not a delay queue')
  t.equal(attemptOf(delivery({ 'x-attempt': 3, 'x-death': hop('q.delay.1e2') })), 1, 'not a name we give')
  t.equal(attemptOf(delivery({ 'x-attempt': 3, 'x-death': hop('q') })), 1, 'the queue itself')
  t.equal(
    attemptOf(delivery({ 'x-attempt': 3, 'x-death': [...hop('q'), ...hop('q.delay.100')] })),
    1,
    'only the newest entry counts'
  )
  t.equal(
    attemptOf(delivery({ 'x-attempt': 3, 'x-death': hop('q.delay.100') }, { exchange: 'orders' })),
    1,
    'not through the default exchange'
  )
  t.equal(attemptOf(delivery({ 'x-attempt': 3, 'x-death': 'q.delay.100' })), 1, 'x-death not a list')
  t.equal(attemptOf(delivery({ 'x-attempt': 3, 'x-death': [null] })), 1, 'x-death entry not a table')
  const inherited = Object.create({ 'x-attempt': 3, 'x-death': hop('q.delay.100') }) as Record<string, unknown>
  t.equal(attemptOf(delivery(inherited)), 1, 'inherited headers are not read')
  const deathInherited = [Object.create({ reason: 'expired', queue: 'q.delay.100' })]
  t.equal(attemptOf(delivery({ 'x-attempt': 3, 'x-death': deathInherited })), 1, 'nor inherited x-death fields')
  for (const bad of [0, -1, 1.5, 'two', null, true, Number.NaN])
    t.equal(attemptOf(delivery({ 'x-attempt': bad, 'x-death': hop('q.delay.100') })), 1, `x-attempt ${String(bad)}`)
})

t.test('headersOf: own entries only, nested tables too, rebuilt once per delivery', async (t) => {
  const nested = Object.create({ inherited: 'no' }) as Record<string, unknown>
  nested.own = 'yes'
  const raw = Object.create({ 'x-attempt': 99 }) as Record<string, unknown>
  Object.assign(raw, { tenant: 'acme', bytes: Buffer.from('b'), list: [nested, 1], table: nested })
  const properties = { headers: raw }
  const headers = headersOf(properties)
  t.same(Object.keys(headers), ['tenant', 'bytes', 'list', 'table'])
  t.equal(Object.getPrototypeOf(headers), Object.prototype)
  t.equal(header(headers, 'x-attempt'), undefined)
  t.equal(header(headers, 'hasOwnProperty'), undefined, 'Object.prototype is not consulted either')
  t.same(headers.table, { own: 'yes' })
  t.equal(Object.getPrototypeOf(headers.table), Object.prototype)
  t.same(headers.list, [{ own: 'yes' }, 1])
  t.ok(Buffer.isBuffer(headers.bytes), 'byte arrays stay Buffers')
  t.equal(headersOf(properties), headers, 'the same object for the same delivery')
  const own = JSON.parse('{"__proto__": {"x-attempt": 99}, "a": 1}') as Record<string, unknown>
  t.same(Object.keys(headersOf({ headers: own })), ['a'], 'an own __proto__ key is dropped as well')
  t.same(headersOf({}), {}, 'no headers: an empty table')
})
