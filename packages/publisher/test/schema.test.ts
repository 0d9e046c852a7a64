import { Type as Type034 } from '@sinclair/typebox'
import t from 'tap'
import { Type } from 'typebox'
import { buildApp, rawChannel, tempQueue } from './fixtures/helpers.js'

const Order = Type034.Object(
  { id: Type034.String(), total: Type034.Number({ minimum: 0 }) },
  { additionalProperties: false }
)
const OrderV1 = Type.Object({ id: Type.String(), total: Type.Number({ minimum: 0 }) }, { additionalProperties: false })

t.test('a body that fails its registered schema rejects before anything is sent', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  const app = await buildApp(t, { publisher: { schemas: { [`:${queue}`]: Order } } })
  const bad = app.publisher.publish('', queue, { id: 7, total: -1 } as never)
  await t.rejects(bad, { code: 'FST_AMQP_PUBLISHER_INVALID_MESSAGE', statusCode: 400 })
  const error = await bad.catch((err: Error) => err)
  t.match(String(error), /\/id/, 'names the failing path')
  t.match(String(error), /\/total/, 'lists every schema error')
  t.equal(app.publisher.pending, 0)
  // Confirms come in order on one channel: had the bad one been sent, it would be in the queue before this one.
  await app.publisher.publish('', queue, { id: 'o-1', total: 3 })
  t.equal((await channel.checkQueue(queue)).messageCount, 1, 'only the valid message reached the queue')
})

t.test(
  'a body that fails a typebox 1.x schema rejects the same way; 0.34 and 1.x schemas sit side by side',
  async (t) => {
    const { channel } = await rawChannel(t)
    const queue = await tempQueue(t, channel)
    const app = await buildApp(t, { publisher: { schemas: { [`:${queue}`]: OrderV1, 'orders:v034': Order } } })
    const bad = app.publisher.publish('', queue, { id: 'o-1', total: -1, extra: true } as never)
    await t.rejects(bad, { code: 'FST_AMQP_PUBLISHER_INVALID_MESSAGE', statusCode: 400, mayHaveArrived: false })
    const error = await bad.catch((err: Error) => err)
    t.match(String(error), /\/total/, 'names the failing path')
    t.match(String(error), /extra|additional/i, 'lists every schema error')
    await t.rejects(app.publisher.publish('orders', 'v034', { id: 1, total: 1 } as never), {
      code: 'FST_AMQP_PUBLISHER_INVALID_MESSAGE',
    })
    t.equal(app.publisher.pending, 0)
    await app.publisher.publish('', queue, { id: 'o-1', total: 3 })
    t.equal((await channel.checkQueue(queue)).messageCount, 1, 'only the valid message reached the queue')
    t.same(app.publisher.schemas, { [`:${queue}`]: OrderV1, 'orders:v034': Order }, 'schemas reads them back, by key')
  }
)

t.test('a schema that is not an object is refused at registration, naming its key', async (t) => {
  await t.rejects(buildApp(t, { publisher: { schemas: { 'orders:placed': 'text' as never } } }), {
    code: 'FST_AMQP_PUBLISHER_INVALID_OPTION',
    message: /schemas\["orders:placed"\]/,
  })
  // Marked as 0.34's, so 0.34's TypeCompiler gets it, and refuses an unknown kind.
  const unknownKind = { [Symbol.for('TypeBox.Kind')]: 'NoSuchKind' }
  await t.rejects(buildApp(t, { publisher: { schemas: { 'orders:placed': unknownKind } } }), {
    code: 'FST_AMQP_PUBLISHER_INVALID_OPTION',
    message: /@sinclair\/typebox 0\.34 could not compile the schema/,
  })
})

t.test('keys without a schema and Buffer bodies are not validated', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  const app = await buildApp(t, { publisher: { schemas: { 'orders:placed': Order } } })
  await t.resolves(app.publisher.publish('', queue, { anything: true }))
  await t.resolves(app.publisher.publish('', queue, Buffer.from('raw')))
})

t.test('a body that is not JSON rejects with FST_AMQP_PUBLISHER_INVALID_MESSAGE', async (t) => {
  const app = await buildApp(t)
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  await t.rejects(app.publisher.publish('amq.direct', 'x', cyclic), { code: 'FST_AMQP_PUBLISHER_INVALID_MESSAGE' })
  await t.rejects(app.publisher.publish('amq.direct', 'x', undefined), { code: 'FST_AMQP_PUBLISHER_INVALID_MESSAGE' })
})

t.test('an invalid HTTP body gets 400 and publishes nothing', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  let handlerRan = false
  const app = await buildApp(t, {
    setup(app) {
      app.post('/orders', { schema: { body: Order } }, async (request, reply) => {
        handlerRan = true
        await reply.publish('', queue, request.body)
        return reply.code(202).send()
      })
    },
  })
  const response = await app.inject({ method: 'POST', url: '/orders', payload: { id: 1 } })
  t.equal(response.statusCode, 400)
  t.equal(response.json().code, 'FST_ERR_VALIDATION')
  t.notOk(handlerRan)
  const ok = await app.inject({ method: 'POST', url: '/orders', payload: { id: 'o-2', total: 5 } })
  t.equal(ok.statusCode, 202)
  t.equal((await channel.checkQueue(queue)).messageCount, 1, 'only the valid request published')
})
