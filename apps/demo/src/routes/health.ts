import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** 200 while both AMQP connections are up, 503 otherwise (including a broker alarm: orders cannot be taken). */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', async (_request, reply) => {
    const amqp = app.amqp.health()
    const up = amqp.status === 'connected'
    return reply.code(up ? 200 : 503).send({ status: up ? 'ok' : 'unavailable', amqp })
  })
}
