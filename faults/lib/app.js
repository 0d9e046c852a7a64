import amqp from '@fastify-amqp/connection'
import consumer, { consumerQueueArguments } from '@fastify-amqp/consumer'
import publisher from '@fastify-amqp/publisher'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { sleep } from './util.js'

export const Order = Type.Object({ id: Type.String(), total: Type.Number(), pad: Type.Optional(Type.String()) })
// A header contract, so "bad headers" are a thing the consumer can refuse.
export const OrderHeaders = Type.Object({ 'x-tenant': Type.Optional(Type.String()) })

/** Queue options shared by the connection's topology and the consumer's own declaration (they must match). */
export function queueOptions(queueType, deliveryLimit) {
  if (queueType !== 'quorum') return {}
  return deliveryLimit === undefined ? { type: 'quorum' } : { type: 'quorum', deliveryLimit }
}

/** Exchange, both queues and their bindings: declared by every app on every (re)connect. */
export function topology(names, queueType, deliveryLimit) {
  const options = queueOptions(queueType, deliveryLimit)
  const declare = (queue) => ({
    name: queue,
    options: { durable: true, arguments: consumerQueueArguments(queue, options) },
  })
  return {
    exchanges: [{ name: names.exchange, type: 'topic' }],
    queues: [declare(names.stage1), declare(names.final)],
    bindings: [
      { exchange: names.exchange, queue: names.stage1, routingKey: 'order.placed' },
      { exchange: names.exchange, queue: names.final, routingKey: 'order.done' },
    ],
  }
}

/**
 * The app under test, as a user would write it: the three plugins, a POST /orders route doing
 * reply.publish, a stage-1 consumer that publishes onward with message.publish, and a final
 * consumer that records arrivals. Each part is optional, so a scenario can split them over
 * processes.
 *
 * options: url, names, connectionName, queueType, deliveryLimit, heartbeat, connectTimeout,
 * publisher (plugin options), route (bool), stage1 (false | { prefetch, concurrency, work(message),
 * retry, onHandled(message) }), final (false | { prefetch, onArrival(message) }), logger.
 */
export async function buildApp(options) {
  const { names, queueType = 'classic', deliveryLimit } = options
  const app = Fastify({ logger: options.logger ?? false, pluginTimeout: 60_000 })
  await app.register(amqp, {
    url: options.url,
    connectionName: options.connectionName,
    heartbeat: options.heartbeat ?? 5,
    connectTimeout: options.connectTimeout ?? 10_000,
    reconnect: { initialDelay: 50, maxDelay: 1_000, ...options.reconnect },
    topology: topology(names, queueType, deliveryLimit),
  })
  await app.register(publisher, { confirmTimeout: 10_000, ...options.publisher })
  await app.register(consumer, { prefetch: 50, drainTimeout: 5_000, ...options.consumer })

  if (options.route !== false) {
    app.post('/orders', async (request, reply) => {
      const order = request.body
      await reply.publish(names.exchange, 'order.placed', order, { messageId: order.id })
      return reply.code(202).send({ id: order.id })
    })
  }

  if (options.stage1) {
    const stage = options.stage1
    app.consume({
      queue: names.stage1,
      queueOptions: queueOptions(queueType, deliveryLimit),
      schema: { body: Order, headers: OrderHeaders },
      prefetch: stage.prefetch ?? 50,
      concurrency: stage.concurrency,
      retry: stage.retry ?? { attempts: 3, delay: 200 },
      async handler(message) {
        if (stage.work) await stage.work(message)
        // A negative total is the "handler poison": valid input the handler cannot process.
        if (message.body.total < 0) throw new Error(`cannot bill a negative total (${message.body.total})`)
        await message.publish(names.exchange, 'order.done', message.body, { messageId: message.messageId })
        stage.onHandled?.(message)
      },
    })
  }

  if (options.final) {
    const final = options.final
    app.consume({
      queue: names.final,
      queueOptions: queueOptions(queueType, deliveryLimit),
      prefetch: final.prefetch ?? 200,
      retry: false,
      async handler(message) {
        final.onArrival(message)
      },
    })
  }

  await app.ready()
  return app
}

/** A handler's simulated work: `ms` per message, cut short when its delivery is given up. */
export function workFor(ms) {
  return (message) => sleep(ms, undefined, { signal: message.signal }).catch(() => {})
}

export async function listen(app, port = 0) {
  await app.listen({ host: '127.0.0.1', port })
  return app.server.address().port
}
