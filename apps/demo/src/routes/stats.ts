import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

interface QueueDepth {
  queue: string
  messages: number | null
  consumers: number | null
}

/** Order counts, consumer state and queue depths (retry and dead-letter queues included): the demo's dashboard. */
export const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // A channel of its own: checkQueue on a queue that is gone closes the channel (404), never another one.
  const inspector = app.amqp.channel({ name: 'demo-stats' })

  async function depth(queue: string): Promise<QueueDepth> {
    try {
      const channel = await inspector.waitForOpen(AbortSignal.timeout(1_000))
      const { messageCount, consumerCount } = await channel.checkQueue(queue)
      return { queue, messages: messageCount, consumers: consumerCount }
    } catch {
      return { queue, messages: null, consumers: null }
    }
  }

  app.get('/stats', async () => {
    const declared = app.consumers
    const queues = declared.flatMap((c) => [
      c.queue,
      ...c.delayQueues,
      ...(c.deadLetterQueue ? [c.deadLetterQueue] : []),
    ])
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
      queues: await Promise.all(queues.map(depth)),
    }
  })
}
