import type { ConnectionStatus, ManagedConnection } from '@fastify-amqp/connection'
import type { Api } from './otel.js'

const STATES: readonly ConnectionStatus[] = ['connecting', 'connected', 'blocked', 'reconnecting', 'closing', 'closed']

/**
 * One connection's reconnects (a counter) and state (a gauge per state, 1 for the current one and 0 for the
 * others, so a dashboard's series never go stale), as `fastify_amqp.connection.*` with its role. The publisher
 * reports its connection, the consumer its own. Returns what stops the reporting (the plugin's close).
 */
export function observeConnection(meter: Api.Meter, connection: ManagedConnection, role: string): () => void {
  const reconnects = meter.createObservableCounter('fastify_amqp.connection.reconnects', {
    description: 'Times the connection was re-established after it was lost',
    unit: '{reconnect}',
  })
  const state = meter.createObservableGauge('fastify_amqp.connection.state', {
    description: 'The connection state: 1 for the current one, 0 for the others',
    unit: '1',
  })
  const countReconnects: Api.ObservableCallback = (result) => {
    result.observe(connection.health().reconnects, { 'fastify_amqp.connection.role': role })
  }
  const reportState: Api.ObservableCallback = (result) => {
    const current = connection.status
    for (const name of STATES)
      result.observe(name === current ? 1 : 0, {
        'fastify_amqp.connection.role': role,
        'fastify_amqp.connection.state': name,
      })
  }
  reconnects.addCallback(countReconnects)
  state.addCallback(reportState)
  return () => {
    reconnects.removeCallback(countReconnects)
    state.removeCallback(reportState)
  }
}
