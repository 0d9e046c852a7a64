import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/**
 * 200 while both AMQP connections are up and every consumer is subscribed, 503 otherwise (including a broker
 * alarm: orders cannot be taken; or a consumer waiting for its channel: orders would not be processed).
 */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', async (_request, reply) => {
    const amqp = app.amqp.health()
    const consumers = app.consumerHealth()
    const up = amqp.status === 'connected' && consumers.ready
    return reply.code(up ? 200 : 503).send({ status: up ? 'ok' : 'unavailable', amqp, consumers })
  })
}
