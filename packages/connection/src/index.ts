import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AmqpClient } from './client.js'
import { AmqpAlreadyRegisteredError } from './errors.js'
import { type AmqpConnectionOptions, resolveOptions } from './options.js'

declare module 'fastify' {
  interface FastifyInstance {
    amqp: AmqpClient
  }
}

// Leave avvio's own pluginTimeout a margin, so our coded error wins over its generic one.
const PLUGIN_TIMEOUT_MARGIN = 250

async function amqpConnection(app: FastifyInstance, options: AmqpConnectionOptions): Promise<void> {
  const resolved = resolveOptions(options)
  if (app.hasDecorator('amqp')) throw new AmqpAlreadyRegisteredError()

  const log = app.log.child({ plugin: '@fastify-amqp/connection' })
  const client = new AmqpClient(resolved, log)
  app.addHook('onClose', async () => {
    await client.close()
  })
  app.decorate('amqp', client)

  const pluginTimeout = app.initialConfig.pluginTimeout ?? 0
  const waitMs =
    pluginTimeout > PLUGIN_TIMEOUT_MARGIN
      ? Math.min(resolved.connectTimeout, pluginTimeout - PLUGIN_TIMEOUT_MARGIN)
      : resolved.connectTimeout
  try {
    await client.start(waitMs)
  } catch (err) {
    // A failed register never reaches onClose: stop the loops here so nothing lingers.
    await client.close()
    throw err
  }
}

export const amqp = fp(amqpConnection, {
  fastify: '5.x',
  name: '@fastify-amqp/connection',
})
export default amqp

export type { Channel, ConfirmChannel, ConsumeMessage, Message, Options as AmqplibOptions } from 'amqplib'
export { Backoff, type BackoffOptions, backoffDelay, type Jitter } from './backoff.js'
export type { ChannelCloseReply } from './channel-close-reply.js'
export { AmqpClient, type AmqpHealth } from './client.js'
export { type DeprecatedFeature, deprecatedQueueFeature } from './deprecated-features.js'
export * from './errors.js'
export { ManagedChannel, type ManagedChannelEvents, type ManagedChannelOptions } from './managed-channel.js'
export {
  type ConnectionEvents,
  type ConnectionHealth,
  type ConnectionRole,
  type ConnectionStatus,
  ManagedConnection,
} from './managed-connection.js'
export type { AmqpConnectionOptions, ReconnectOptions } from './options.js'
export { redactUrl } from './redact.js'
export type { TlsOptions } from './socket-options.js'
export {
  assertTopology,
  type BindingDeclaration,
  type ExchangeDeclaration,
  type QueueDeclaration,
  type Topology,
} from './topology.js'
