import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { consumerQueues, queueDepthReader } from '../queue-depths.js'

/** Order counts, consumer state and queue depths (retry and dead-letter queues included): the demo's dashboard. */
export const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const depth = queueDepthReader(app, 'demo-stats')

  app.get('/stats', async () => {
    const declared = app.consumers
    return {
      orders: app.store.counts(),
      amqp: app.amqp.status,
      consumers: declared.map((c) => ({
        queue: c.queue,
        active: c.active,
        inFlight: c.inFlight,
        attempts: c.retry.attempts,
        retryDelays: c.retry.delays,
        deadLetterQueue: c.deadLetterQueue,
      })),
      queues: await Promise.all(consumerQueues(declared).map(({ queue }) => depth(queue))),
    }
  })
}
