import { Type } from '@sinclair/typebox'
import type { MessagePropertyHeaders } from 'amqplib'
import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, test } from 'tstyche'
import consumer, {
  type AsyncApiDocument,
  type ConsumerHealth,
  type ConsumerInfo,
  type ConsumerMessage,
  consumerQueueArguments,
  NonRetryableError,
} from '../../src/index.js'

const app = Fastify()
const Order = Type.Object({ id: Type.Integer(), total: Type.Number(), note: Type.Optional(Type.String()) })
const Tenant = Type.Object({ tenant: Type.String() })

describe('app.consume', () => {
  test('message.body is typed from schema.body', () => {
    app.consume({
      queue: 'orders',
      schema: { body: Order },
      async handler(message) {
        expect(message.body).type.toBe<{ id: number; total: number; note?: string }>()
        expect(message.attempt).type.toBe<number>()
        expect(message.deliveryCount).type.toBe<number>()
        expect(message.signal).type.toBe<AbortSignal>()
        expect(message.publish('ex', 'rk', { any: 1 })).type.toBe<Promise<{ messageId: string }>>()
      },
    })
  })

  test('the shorthand types the body too', () => {
    app.consume('orders', { schema: { body: Order } }, async (message) => {
      expect(message.body.total).type.toBe<number>()
    })
  })

  test('without a schema the body is unknown', () => {
    app.consume('raw', {}, async (message) => {
      expect(message.body).type.toBe<unknown>()
    })
  })

  test('headers are typed from schema.headers, keeping the AMQP headers', () => {
    app.consume({
      queue: 'h',
      schema: { headers: Tenant },
      handler(message) {
        expect(message.headers.tenant).type.toBe<string>()
        expect(message.headers).type.toBeAssignableTo<MessagePropertyHeaders>()
      },
    })
  })

  test('`this` is the Fastify instance', () => {
    app.consume('t', {}, async function () {
      expect(this).type.toBe<FastifyInstance>()
    })
  })

  test('consume() chains', () => {
    expect(app.consume('a', {}, async () => {})).type.toBe<FastifyInstance>()
  })

  test('handlerTimeout is a number of ms, per consumer and for the plugin', () => {
    expect(app.consume).type.toBeCallableWith('a', { handlerTimeout: 60_000 }, async () => {})
    expect(app.consume).type.not.toBeCallableWith('a', { handlerTimeout: '1m' }, async () => {})
    expect(app.register).type.toBeCallableWith(consumer, { handlerTimeout: 0 })
    expect<ConsumerInfo['handlerTimeout']>().type.toBe<number>()
  })

  test('maxDeliveries is a count, per consumer and for the plugin; suspended says why a consumer is stopped', () => {
    expect(app.consume).type.toBeCallableWith('a', { maxDeliveries: 5 }, async () => {})
    expect(app.consume).type.not.toBeCallableWith('a', { maxDeliveries: '5' }, async () => {})
    expect(app.register).type.toBeCallableWith(consumer, { maxDeliveries: 0 })
    expect<ConsumerInfo['maxDeliveries']>().type.toBe<number>()
    expect<ConsumerInfo['suspended']>().type.toBe<string | null>()
  })

  test('invalid options do not compile', () => {
    expect(app.consume).type.not.toBeCallableWith({ queue: 'q' })
    expect(app.consume).type.toBeCallableWith({
      exclusive: true,
      bindings: [{ exchange: 'x' }],
      handler: async () => {},
    })
    expect(app.consume).type.not.toBeCallableWith({ exclusive: true, retry: false, handler: async () => {} })
    expect(app.consume).type.not.toBeCallableWith({ handler: async () => {} })
    expect(app.consume).type.not.toBeCallableWith({ queue: 1, handler: async () => {} })
    expect(app.consume).type.not.toBeCallableWith({ queue: 'q', retry: { attempts: '3' }, handler: async () => {} })
    expect(app.consume).type.not.toBeCallableWith({
      queue: 'q',
      queueOptions: { type: 'stream' },
      handler: async () => {},
    })
    expect(app.consume).type.not.toBeCallableWith('q', { prefetch: 'many' }, async () => {})
  })

  test('a body typed from the schema cannot be misused', () => {
    app.consume({
      queue: 'orders',
      schema: { body: Order },
      async handler(message) {
        // @ts-expect-error Property 'toUpperCase' does not exist on type 'number'
        message.body.total.toUpperCase()
      },
    })
  })
})

describe('registry and exports', () => {
  test('app.consumers is read-only', () => {
    expect(app.consumers).type.toBe<readonly ConsumerInfo[]>()
    expect(app.printConsumers()).type.toBe<string>()
    expect(app.pauseConsumer('q')).type.toBe<Promise<void>>()
    expect(app.resumeConsumer('q')).type.toBe<Promise<void>>()
    expect(app.pauseConsumer).type.not.toBeCallableWith()
    expect(app.consumers[0]?.paused).type.toBe<boolean | undefined>()
  })

  test('the plugin registers with its options', () => {
    expect(app.register).type.toBeCallableWith(consumer, { prefetch: 10, drainTimeout: 1_000 })
    expect(app.register).type.not.toBeCallableWith(consumer, { prefetch: '10' })
  })

  test('readiness and the AsyncAPI document', () => {
    expect(app.consumerHealth()).type.toBe<ConsumerHealth>()
    expect(app.consumerHealth().ready).type.toBe<boolean>()
    expect(app.asyncapi()).type.toBe<AsyncApiDocument>()
    expect(app.asyncapi().asyncapi).type.toBe<'3.0.0'>()
    expect(app.register).type.toBeCallableWith(consumer, {
      asyncapi: { route: '/asyncapi.json', info: { title: 'Billing', version: '1.0.0' } },
    })
    expect(app.register).type.not.toBeCallableWith(consumer, { asyncapi: { route: true } })
    expect(app.register).type.not.toBeCallableWith(consumer, { asyncapi: { info: { version: 1 } } })
  })

  test('NonRetryableError is an Error with retryable false', () => {
    expect(new NonRetryableError('x').retryable).type.toBe<false>()
    expect<ConsumerMessage>().type.toHaveProperty('redelivered')
  })

  test("consumerQueueArguments takes the consumer's queue options", () => {
    expect(consumerQueueArguments('q', { type: 'quorum', deliveryLimit: 5 })).type.toBe<Record<string, unknown>>()
    expect(consumerQueueArguments).type.not.toBeCallableWith('q', { type: 'stream' })
  })
})
