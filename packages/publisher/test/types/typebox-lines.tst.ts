import amqp from '@fastify-amqp/connection'
import { Type as Type034 } from '@sinclair/typebox'
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import { Type } from 'typebox'
import publisher, { type SchemaBodies, type StaticOf } from '../../src/index.js'

const lines = {
  'lines:v1': Type.Object({ id: Type.String(), total: Type.Number(), note: Type.Optional(Type.String()) }),
  'lines:v034': Type034.Object({
    id: Type034.String(),
    total: Type034.Number(),
    note: Type034.Optional(Type034.String()),
  }),
}
type Order = { id: string; total: number; note?: string }

declare module '../../src/index.js' {
  interface PublisherSchemas extends SchemaBodies<typeof lines> {}
}

const app = Fastify()
await app.register(amqp, { url: 'amqp://localhost' })
await app.register(publisher, { schemas: lines })

describe('publish bodies from either TypeBox line', () => {
  test('each schema types its key', () => {
    expect<StaticOf<(typeof lines)['lines:v1']>>().type.toBe<Order>()
    expect<StaticOf<(typeof lines)['lines:v034']>>().type.toBe<Order>()
  })

  test('typebox 1.x', () => {
    expect(app.publisher.publish('lines', 'v1', { id: 'o-1', total: 3 })).type.not.toRaiseError()
    expect(app.publisher.publish('lines', 'v1', { id: 1, total: 3 })).type.toRaiseError()
    expect(app.publisher.publish('lines', 'v1', { id: 'o-1' })).type.toRaiseError()
  })

  test('@sinclair/typebox 0.34', () => {
    expect(app.publisher.publish('lines', 'v034', { id: 'o-1', total: 3, note: 'n' })).type.not.toRaiseError()
    expect(app.publisher.publish('lines', 'v034', { id: 'o-1', total: '3' })).type.toRaiseError()
  })

  test('schemas are objects', () => {
    expect(app.register).type.not.toBeCallableWith(publisher, { schemas: { 'a:b': 'string' } })
  })
})
