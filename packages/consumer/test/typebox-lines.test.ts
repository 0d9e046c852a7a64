import { Type as Type034 } from '@sinclair/typebox'
import t from 'tap'
import { Type } from 'typebox'
import { buildApp, deleteConsumerQueues, openBroker, SHARED_URL, uniqueName, until } from './fixtures/helpers.js'

// The same order in each line; a plain JSON Schema is compiled by typebox 1.x.
const lines = {
  'typebox 1.x': Type.Object({ id: Type.Integer(), tenant: Type.String({ minLength: 1 }) }),
  '@sinclair/typebox 0.34': Type034.Object({ id: Type034.Integer(), tenant: Type034.String({ minLength: 1 }) }),
  'JSON Schema': {
    type: 'object',
    properties: { id: { type: 'integer' }, tenant: { type: 'string', minLength: 1 } },
    required: ['id', 'tenant'],
  },
}

for (const [line, Order] of Object.entries(lines)) {
  t.test(`${line}: a valid message is handled, an invalid one dead-lettered with reason schema`, async (t) => {
    const queue = uniqueName('lines')
    const broker = await openBroker(t)
    const handled: unknown[] = []
    const app = await buildApp(t, {
      declare: (app) => {
        app.consume(queue, { schema: { body: Order }, retry: false }, async (message) => {
          handled.push(message.body)
        })
      },
    })
    t.teardown(async () => {
      await app.close()
      await deleteConsumerQueues(SHARED_URL, queue)
    })
    await broker.send(queue, { id: 1, tenant: '' }, { messageId: 'bad' })
    await broker.send(queue, { id: 2, tenant: 't' }, { messageId: 'good' })
    await until(() => handled.length === 1, 10_000, 'the valid message handled')
    await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 10_000, 'the invalid one dead-lettered')
    t.same(handled, [{ id: 2, tenant: 't' }], 'only the valid message reached the handler')
    const [dead] = await broker.drainQueue(`${queue}.dlq`)
    const headers = dead?.properties.headers as Record<string, unknown>
    t.equal(dead?.properties.messageId, 'bad')
    t.equal(headers['x-death-reason'], 'schema')
    t.match(headers['x-error-message'], /\/tenant/, 'names the failing field')
  })
}

t.test('headers are validated with either line', async (t) => {
  const queue = uniqueName('lines-headers')
  const broker = await openBroker(t)
  const tenants: unknown[] = []
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume(
        queue,
        { schema: { body: lines['typebox 1.x'], headers: Type034.Object({ tenant: Type034.Literal('t') }) } },
        async (message) => {
          tenants.push(message.headers.tenant)
        }
      )
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  await broker.send(queue, { id: 1, tenant: 't' }, { messageId: 'bad', headers: { tenant: 'u' } })
  await broker.send(queue, { id: 2, tenant: 't' }, { messageId: 'good', headers: { tenant: 't' } })
  await until(() => tenants.length === 1, 10_000, 'the valid message handled')
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 10_000, 'the invalid one dead-lettered')
  t.same(tenants, ['t'])
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  t.match(dead?.properties, {
    messageId: 'bad',
    headers: { 'x-death-reason': 'schema', 'x-error-message': /^headers:/ },
  })
})

t.test('a schema that is not an object is refused at declaration, naming the field', async (t) => {
  const app = await buildApp(t, { ready: false })
  t.throws(() => app.consume('never', { schema: { body: 'text' as never } }, async () => {}), {
    code: 'FST_AMQP_CONSUMER_INVALID_OPTION',
    message: /schema\.body/,
  })
  t.throws(() => app.consume('never', { schema: { headers: null as never } }, async () => {}), {
    message: /schema\.headers/,
  })
})
