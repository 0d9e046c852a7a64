import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Order, OrderId, OrderInput, type OrderPlaced } from '../schemas.js'

const Accepted = Type.Object({ id: Type.String() })
const NotFound = Type.Object({ statusCode: Type.Literal(404), error: Type.String(), message: Type.String() })

export const orderRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { exchange, placed } = app.names

  app.post('/orders', { schema: { body: OrderInput, response: { 202: Accepted } } }, async (request, reply) => {
    const id = randomUUID()
    const placedAt = new Date().toISOString()
    // The row exists before the message does, so the consumers always find it.
    app.store.place(id, request.body, placedAt)
    const message: OrderPlaced = { id, customer: request.body.customer, items: request.body.items, placedAt }
    try {
      // Resolves once the broker has confirmed the message: only then is the order accepted.
      await reply.publish(exchange, placed, message, { messageId: id })
    } catch (err) {
      // Not accepted: take the row back and let the error answer (503 + Retry-After when the broker is unavailable).
      app.store.remove(id)
      throw err
    }
    return reply.code(202).send({ id })
  })

  app.get(
    '/orders/:id',
    { schema: { params: OrderId, response: { 200: Order, 404: NotFound } } },
    async (request, reply) => {
      const order = app.store.get(request.params.id)
      if (!order) {
        return reply
          .code(404)
          .send({ statusCode: 404, error: 'Not Found', message: `order ${request.params.id} not found` })
      }
      return order
    }
  )
}
