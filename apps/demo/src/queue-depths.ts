import type { ConsumerInfo } from '@fastify-amqp/consumer'
import type { FastifyInstance } from 'fastify'

export interface QueueDepth {
  queue: string
  /** null while the broker cannot be asked (the connection is down, or the queue is gone). */
  messages: number | null
  consumers: number | null
}

export type QueueKind = 'main' | 'delay' | 'dead-letter'

/** Every queue the app's consumers use, in order: each one's queue, its delay queues, its dead-letter queue. */
export function consumerQueues(consumers: readonly ConsumerInfo[]): { queue: string; kind: QueueKind }[] {
  return consumers.flatMap((c) => [
    { queue: c.queue, kind: 'main' as const },
    ...c.delayQueues.map((queue) => ({ queue, kind: 'delay' as const })),
    ...(c.deadLetterQueue ? [{ queue: c.deadLetterQueue, kind: 'dead-letter' as const }] : []),
  ])
}

/**
 * Reads queue depths through the app's own connection, on a channel of its own: checkQueue on a queue that is
 * gone closes the channel (404), never another one. Gives up on a queue after a second while the broker is away.
 */
export function queueDepthReader(app: FastifyInstance, name: string): (queue: string) => Promise<QueueDepth> {
  const inspector = app.amqp.channel({ name })
  return async (queue) => {
    try {
      const channel = await inspector.waitForOpen(AbortSignal.timeout(1_000))
      const { messageCount, consumerCount } = await channel.checkQueue(queue)
      return { queue, messages: messageCount, consumers: consumerCount }
    } catch {
      return { queue, messages: null, consumers: null }
    }
  }
}
