import type { AmqpHealth, ConnectionHealth } from '@fastify-amqp/connection'

/** What the page shows of a connection: closing and closed are both "down" (nothing will flow on it). */
export type LinkState = 'connecting' | 'connected' | 'blocked' | 'reconnecting' | 'down'

export interface LinkView {
  state: LinkState
  /** Since when it has been up (ISO), or null while it is not. */
  connectedSince: string | null
  reconnects: number
}

export interface ConnectionsView {
  /** True when both sides are connected: orders are confirmed and consumed as they come. */
  up: boolean
  publish: LinkView
  /** The worst state of the pool of consume connections. */
  consume: LinkView & { pool: number }
  lastError: string | null
}

function link(health: ConnectionHealth): LinkView {
  const { status } = health
  return {
    state: status === 'closed' || status === 'closing' ? 'down' : status,
    connectedSince: health.connectedSince,
    reconnects: health.reconnects,
  }
}

/** app.amqp.health() as the page shows it. */
export function connectionsView(health: AmqpHealth): ConnectionsView {
  const publish = link(health.connections.publish)
  const consume = { ...link(health.connections.consume), pool: health.consumePool.connections }
  return {
    up: publish.state === 'connected' && consume.state === 'connected',
    publish,
    consume,
    lastError: health.lastError,
  }
}
