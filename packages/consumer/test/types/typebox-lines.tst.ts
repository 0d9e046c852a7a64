import { Type as Type034 } from '@sinclair/typebox'
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import { Type } from 'typebox'
import type { BodyOf, HeadersOf } from '../../src/index.js'

const app = Fastify()
const OrderV1 = Type.Object({ id: Type.Integer(), total: Type.Number(), note: Type.Optional(Type.String()) })
const OrderV034 = Type034.Object({
  id: Type034.Integer(),
  total: Type034.Number(),
  note: Type034.Optional(Type034.String()),
})
type Order = { id: number; total: number; note?: string }

describe('message.body from either TypeBox line', () => {
  test('typebox 1.x', () => {
    app.consume({
      queue: 'orders-v1',
      schema: { body: OrderV1, headers: Type.Object({ tenant: Type.String() }) },
      handler(message) {
        expect(message.body).type.toBe<Order>()
        expect(message.headers.tenant).type.toBe<string>()
      },
    })
    app.consume('orders-v1', { schema: { body: Type.Array(Type.Literal('a')) } }, (message) => {
      expect(message.body).type.toBe<'a'[]>()
    })
  })

  test('@sinclair/typebox 0.34', () => {
    app.consume({
      queue: 'orders-v034',
      schema: { body: OrderV034, headers: Type034.Object({ tenant: Type034.String() }) },
      handler(message) {
        expect(message.body).type.toBe<Order>()
        expect(message.headers.tenant).type.toBe<string>()
      },
    })
    app.consume('orders-v034', { schema: { body: Type034.Array(Type034.Literal('a')) } }, (message) => {
      expect(message.body).type.toBe<'a'[]>()
    })
  })

  test('one line for the body, the other for the headers', () => {
    expect<BodyOf<{ body: typeof OrderV034; headers: typeof OrderV1 }>>().type.toBe<Order>()
    expect<HeadersOf<{ body: typeof OrderV1; headers: typeof OrderV034 }>['total']>().type.toBe<number>()
  })

  test('a plain JSON Schema written as const is typed by typebox 1.x', () => {
    const Ping = {
      type: 'object',
      properties: { at: { type: 'string' } },
      required: ['at'],
    } as const
    app.consume('pings', { schema: { body: Ping } }, (message) => {
      expect(message.body).type.toBe<{ at: string }>()
    })
  })

  test('a schema is an object', () => {
    expect(app.consume).type.not.toBeCallableWith('q', { schema: { body: 'string' } }, () => {})
    expect(app.consume).type.not.toBeCallableWith('q', { schema: { headers: 42 } }, () => {})
  })
})
