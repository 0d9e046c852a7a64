import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { Order, OrderId, OrderInput, type OrderPlaced } from '../schemas.js'

const Accepted = Type.Object({ id: Type.String() })
const NotFound = Type.Object({ statusCode: Type.Literal(404), error: Type.String(), message: Type.String() })

interface PublishError {
  message?: string
  code?: string
  statusCode?: number
  mayHaveArrived?: boolean
}

/** Only a rejection that says `mayHaveArrived: false` proves the broker did not store the message; a missing flag means maybe. */
function mayHaveArrived(err: unknown): boolean {
  return (err as PublishError | null)?.mayHaveArrived !== false
}

function httpStatus(err: PublishError): number {
  const code = err.statusCode
  return typeof code === 'number' && code >= 400 && code < 600 ? code : 500
}

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
      if (!mayHaveArrived(err)) {
        // The broker certainly did not store it: nothing will ever arrive, so the row is taken back and the error answers.
        app.store.remove(id)
        throw err
      }
      // A confirm timeout, an abort, a close or a lost channel: the message may still arrive, and the consumer
      // then reconciles the row. Deleting it would leave the consumer processing an order GET calls unknown.
      if (!app.store.markUnconfirmed(id)) {
        // No longer placed: the message did arrive and was processed before the rejection came.
        reply.removeHeader('retry-after')
        return reply.code(202).send({ id })
      }
      const error = err as PublishError
      const statusCode = httpStatus(error)
      request.log.warn({ err, orderId: id }, 'order kept as unconfirmed: its message may still arrive')
      // Retry-After stays as reply.publish set it (503s). An error's status and body, so not the route's 202 type.
      return (reply as FastifyReply).code(statusCode).send({
        statusCode,
        code: error.code,
        error: STATUS_CODES[statusCode],
        message:
          `order ${id} is kept as unconfirmed: the broker did not confirm its message (${error.message}), ` +
          `which may still arrive. GET /orders/${id} shows "processed" once it has; posting again places another order.`,
        id,
        status: 'unconfirmed',
      })
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
