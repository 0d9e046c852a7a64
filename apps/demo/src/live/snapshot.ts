import type { FastifyInstance } from 'fastify'
import { consumerQueues, type QueueDepth, type QueueKind } from '../queue-depths.js'
import { type ConnectionsView, connectionsView } from './connections.js'
import type { Totals } from './rates.js'

export interface ConsumerView {
  queue: string
  active: boolean
  /** Why it is stopped while the app runs, or null. */
  suspended: string | null
  inFlight: number
  concurrency: number
  /** Messages in its delay queues, waiting for their next attempt; null while the broker cannot be asked. */
  retriesWaiting: number | null
  /** Messages in its dead-letter queue; null likewise. */
  deadLettered: number | null
}

export interface Snapshot {
  /** When the read started (epoch ms). */
  at: number
  orders: {
    /** Every order placed, whatever became of it. */
    placed: number
    processed: number
    unconfirmed: number
    /** Placed and neither processed nor unconfirmed: in a queue, being worked on, waiting for a retry, or dead-lettered. */
    open: number
    /** Messages in the dead-letter queues; null while the broker cannot be asked. */
    deadLettered: number | null
  }
  consumers: ConsumerView[]
  queues: (QueueDepth & { kind: QueueKind })[]
  connections: ConnectionsView
}

function sum(values: (number | null)[]): number | null {
  return values.includes(null) ? null : (values as number[]).reduce((total, value) => total + value, 0)
}

/** Everything the page shows, read now: the store's counts, the consumers, queue depths and the connections. */
export async function readSnapshot(
  app: FastifyInstance,
  depth: (queue: string) => Promise<QueueDepth>
): Promise<Snapshot> {
  const at = Date.now()
  const declared = app.consumers
  const queues = await Promise.all(
    consumerQueues(declared).map(async ({ queue, kind }) => ({ ...(await depth(queue)), kind }))
  )
  const messages = (names: readonly string[]) =>
    sum(queues.filter((q) => names.includes(q.queue)).map((q) => q.messages))
  const counts = app.store.counts()
  const consumers = declared.map((c) => ({
    queue: c.queue,
    active: c.active,
    suspended: c.suspended,
    inFlight: c.inFlight,
    concurrency: c.concurrency,
    retriesWaiting: messages(c.delayQueues),
    deadLettered: c.deadLetterQueue ? messages([c.deadLetterQueue]) : 0,
  }))
  return {
    at,
    orders: {
      placed: counts.placed + counts.unconfirmed + counts.processed,
      processed: counts.processed,
      unconfirmed: counts.unconfirmed,
      open: counts.placed,
      deadLettered: sum(consumers.map((c) => c.deadLettered)),
    },
    consumers,
    queues,
    connections: connectionsView(app.amqp.health()),
  }
}

export function totals(snapshot: Snapshot): Totals {
  const { placed, processed, deadLettered } = snapshot.orders
  return { placed, processed, deadLettered }
}
