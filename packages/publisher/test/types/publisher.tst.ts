import amqp from '@fastify-amqp/connection'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import publisher, { type Publisher, type PublishReceipt, type SchemaBodies } from '../../src/index.js'

const OrderPlaced = Type.Object({ id: Type.String(), total: Type.Number() })
const schemas = { 'orders:order.placed': OrderPlaced, ':audit': Type.Object({ event: Type.String() }) }

declare module '../../src/index.js' {
  interface PublisherSchemas extends SchemaBodies<typeof schemas> {}
}

const app = Fastify()
await app.register(amqp, { url: 'amqp://localhost' })
await app.register(publisher, { schemas, confirmTimeout: 5_000, buffer: { maxMessages: 100 } })

describe('app.publisher', () => {
  test('is a Publisher', () => {
    expect(app.publisher).type.toBe<Publisher>()
    expect(app.publisher.pending).type.toBe<number>()
  })

  test('a registered key takes the body its schema describes', () => {
    expect(app.publisher.publish('orders', 'order.placed', { id: 'o-1', total: 3 })).type.toBe<
      Promise<PublishReceipt>
    >()
    expect(app.publisher.publish('', 'audit', { event: 'x' })).type.not.toRaiseError()
    expect(app.publisher.publish('orders', 'order.placed', Buffer.from('raw'))).type.not.toRaiseError()
  })

  test('a body of the wrong type for a registered key does not compile', () => {
    expect(app.publisher.publish('orders', 'order.placed', { id: 1, total: 3 })).type.toRaiseError()
    expect(app.publisher.publish('orders', 'order.placed', { id: 'o-1' })).type.toRaiseError()
    expect(app.publisher.publish('', 'audit', 'text')).type.toRaiseError()
  })

  test('keys without a schema take any body', () => {
    expect(app.publisher.publish('orders', 'order.cancelled', 'anything')).type.not.toRaiseError()
    const routingKey: string = 'order.placed'
    expect(app.publisher.publish('orders', routingKey, 42)).type.not.toRaiseError()
  })

  test('publish options are amqplib options plus timeout and signal', () => {
    expect(
      app.publisher.publish('x', 'y', {}, { priority: 1, timeout: 100, signal: AbortSignal.timeout(100) })
    ).type.not.toRaiseError()
    expect(app.publisher.publish('x', 'y', {}, { timeout: '100' })).type.toRaiseError()
  })
})

describe('reply.publish', () => {
  test('is typed like publish, by schema key', () => {
    app.post('/orders', async (_request, reply) => {
      expect(reply.publish('orders', 'order.placed', { id: 'o-1', total: 1 })).type.toBe<Promise<PublishReceipt>>()
      expect(reply.publish('orders', 'order.placed', { id: 'o-1', total: '1' })).type.toRaiseError()
      return reply.code(202).send()
    })
  })
})

describe('plugin options', () => {
  test('are checked', () => {
    expect(app.register(publisher, { confirmTimeout: '1s' })).type.toRaiseError()
    expect(app.register(publisher, { retryNacked: 'no' })).type.toRaiseError()
    expect(app.register(publisher, { maxMessageBytes: '16mb' })).type.toRaiseError()
    expect(app.register(publisher, { maxMessageBytes: 32 * 1024 * 1024 })).type.not.toRaiseError()
    expect(
      app.register(publisher, { buffer: { maxMessages: 10, maxBytes: 1_000 }, retryAfter: 3 })
    ).type.not.toRaiseError()
  })
})

describe('request and reply.rpc', () => {
  test('resolve with the reply, unknown unless typed', () => {
    expect(app.publisher.request('', 'prices', { sku: 'A-1' })).type.toBe<Promise<unknown>>()
    expect(app.publisher.request<{ price: number }>('', 'prices', { sku: 'A-1' }, { timeout: 500 })).type.toBe<
      Promise<{ price: number }>
    >()
    expect(app.publisher.request('orders', 'order.placed', { id: 1, total: 3 })).type.toRaiseError()
    expect(app.publisher.request('', 'prices', {}, { replyTo: 'x' })).type.toRaiseError()
    app.get('/price', async (_request, reply) => {
      expect(reply.rpc<{ price: number }>('', 'prices', { sku: 'A-1' })).type.toBe<Promise<{ price: number }>>()
      return reply.rpc('', 'prices', { sku: 'A-1' })
    })
  })
})
