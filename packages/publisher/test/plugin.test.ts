import createError from '@fastify/error'
import amqp, { AmqpClosedError } from '@fastify-amqp/connection'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import { BufferFullError, isUnavailableError, publisher, UnroutableError } from '../src/index.js'
import { SHARED_URL, uniqueName } from './fixtures/helpers.js'

t.test('registered without the connection plugin: Fastify names the missing app.amqp', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(publisher)
  await t.rejects(async () => app.ready(), {
    code: 'FST_ERR_PLUGIN_NOT_PRESENT_IN_INSTANCE',
    message: "The decorator 'amqp' required by '@fastify-amqp/publisher' is not present in Fastify",
  })
})

t.test('registered twice, or with bad options: coded errors', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(amqp, { url: SHARED_URL, connectionName: uniqueName('twice') })
  await app.register(publisher)
  await t.rejects(async () => app.register(publisher), { code: 'FST_AMQP_PUBLISHER_ALREADY_REGISTERED' })
  const other = Fastify()
  t.teardown(() => other.close())
  await other.register(amqp, { url: SHARED_URL, connectionName: uniqueName('opts') })
  await t.rejects(async () => other.register(publisher, { confirmTimeout: -1 }), {
    code: 'FST_AMQP_PUBLISHER_INVALID_OPTION',
    message: /confirmTimeout/,
  })
})

t.test('fastify-plugin metadata: app.amqp alone, or the name alone, is not enough', async (t) => {
  const unnamed = Fastify()
  t.teardown(() => unnamed.close())
  unnamed.decorate('amqp', {} as never) // a stand-in: Fastify checks the decorator's name only
  await t.rejects(async () => unnamed.register(publisher), {
    code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED',
    message: "The dependency '@fastify-amqp/connection' of plugin '@fastify-amqp/publisher' is not registered",
  })
  const named = Fastify()
  t.teardown(() => named.close())
  await named.register(fp(async () => {}, { name: '@fastify-amqp/connection' }))
  await t.rejects(async () => named.register(publisher), { code: 'FST_ERR_PLUGIN_NOT_PRESENT_IN_INSTANCE' })
})

t.test('isUnavailableError tells the errors worth a retry later', async (t) => {
  t.ok(isUnavailableError(new BufferFullError('1/1 messages')))
  t.ok(isUnavailableError(new AmqpClosedError()))
  // As thrown by a second installed copy of the publisher: @fastify/error's instanceof goes by the code.
  t.ok(isUnavailableError(new (createError('FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT', 'another copy'))()))
  t.notOk(isUnavailableError(new UnroutableError('orders', 'order.placed')))
  t.notOk(isUnavailableError(new Error('x')))
  t.notOk(isUnavailableError(null))
})
