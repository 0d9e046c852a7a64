import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import amqp, { redactUrl } from '@fastify-amqp/connection'
import consumer from '@fastify-amqp/consumer'
import publisher, { type PublisherOptions } from '@fastify-amqp/publisher'
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'
import { orderConsumers } from './consumers.js'
import { loggerOptions } from './logger.js'
import { type Names, names } from './names.js'
import { healthRoutes } from './routes/health.js'
import { liveRoutes } from './routes/live.js'
import { metricsRoutes } from './routes/metrics.js'
import { orderRoutes } from './routes/orders.js'
import { pageRoutes } from './routes/page.js'
import { statsRoutes } from './routes/stats.js'
import { OrderPlaced, OrderProcessed } from './schemas.js'
import { OrderStore } from './store.js'

const ASYNCAPI_INFO = {
  title: 'Orders demo',
  version: '1.0.0',
  description: 'POST /orders publishes order.placed; orders.process handles it and publishes order.processed.',
}

declare module 'fastify' {
  interface FastifyInstance {
    store: OrderStore
    names: Names
  }
}

export interface BuildOptions {
  /** Fastify's logger option; by default at config.logLevel, pretty in a terminal and JSON lines otherwise. */
  logger?: FastifyServerOptions['logger']
  /** Over the demo's publisher options (tests shorten confirmTimeout or maxMessageBytes). */
  publisher?: PublisherOptions
  /** Serves GET /metrics from this exporter (startMetrics(), before buildApp: the plugins look for it when they register). */
  metrics?: PrometheusExporter
}

/**
 * Builds the orders service, connected and ready (consumers subscribed) but not listening.
 * Plugins register in dependency order so that onClose, which runs in reverse, tears down
 * consumers, then the publisher, then the connection, then the store; the log lines between
 * them mark each step of a graceful shutdown.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config.logLevel),
    // Room for the connect timeout, which has its own clearer error, and for the consumers' drain at close,
    // which runs in a hook this also bounds (the consumer plugin shortens a drain that does not fit, and warns).
    pluginTimeout: Math.max(config.connectTimeout, config.drainTimeout) + 5_000,
    // Our own 503 below carries Retry-After; Fastify's has none.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>()
  // TypeBox's compiler: strict (no coercion, no stripping), compiled once per route at start-up.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)

  // From the first step of app.close(), new requests get 503 (Fastify adds Connection: close); in-flight ones finish.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return
    return reply
      .code(503)
      .header('retry-after', '1')
      .send({ statusCode: 503, error: 'Service Unavailable', message: 'shutting down; retry in a moment' })
  })

  const store = new OrderStore(config.databasePath)
  app.decorate('store', store)
  app.decorate('names', names(config.amqpPrefix))
  app.addHook('onClose', async () => {
    store.close()
    app.log.info({ databasePath: config.databasePath }, 'shutdown: AMQP connections closed; store closed')
  })

  const { exchange, placed, processed, processQueue, recordQueue } = app.names
  app.log.info({ url: redactUrl(config.amqpUrl), exchange }, 'connecting to RabbitMQ')
  await app.register(amqp, {
    url: config.amqpUrl,
    connectionName: 'orders-demo',
    connectTimeout: config.connectTimeout,
    // Re-tries at most 5 s apart: an order waiting in the publisher's buffer through an outage then gets its
    // confirm well inside confirmTimeout (10 s) once the broker is back; the plugin's default 30 s would not.
    reconnect: { maxDelay: 5_000 },
    // Declared on every (re)connect, so the very first publish after a start or a broker restart is routable.
    topology: {
      exchanges: [{ name: exchange, type: 'topic' }],
      queues: [{ name: processQueue }, { name: recordQueue }],
      bindings: [
        { exchange, queue: processQueue, routingKey: placed },
        { exchange, queue: recordQueue, routingKey: processed },
      ],
    },
  })
  app.addHook('onClose', async () => {
    app.log.info('shutdown: publisher flushed; closing the AMQP connections')
  })

  await app.register(publisher, {
    // Each body is checked before it is sent, and the consumer's app.asyncapi() lists these as send operations.
    schemas: { [`${exchange}:${placed}`]: OrderPlaced, [`${exchange}:${processed}`]: OrderProcessed },
    confirmTimeout: 10_000,
    buffer: { maxMessages: 10_000 },
    closeTimeout: 5_000,
    ...options.publisher,
  })
  app.addHook('onClose', async () => {
    app.log.info('shutdown: consumer channels closed; publisher flushing its confirms')
  })

  // preClose hooks run in registration order, while HTTP already answers 503 to new requests.
  app.addHook('preClose', async () => {
    app.log.info('shutdown: HTTP takes no new requests; cancelling consumers and draining running handlers')
  })
  await app.register(consumer, {
    drainTimeout: config.drainTimeout,
    // The AsyncAPI 3 document of the queues, bindings, retry and dead-letter queues and the published messages.
    asyncapi: { route: '/asyncapi.json', info: ASYNCAPI_INFO },
  })
  app.addHook('preClose', async () => {
    app.log.info('shutdown: consumers drained; HTTP finishing in-flight requests')
  })
  await app.register(orderConsumers, { workDelayMs: config.workDelayMs })

  await app.register(orderRoutes)
  await app.register(healthRoutes)
  await app.register(statsRoutes)
  await app.register(liveRoutes)
  await app.register(pageRoutes)
  if (options.metrics) await app.register(metricsRoutes, { exporter: options.metrics })
  app.addHook('onClose', async () => {
    app.log.info('shutdown: HTTP server closed; closing the consumer channels')
  })

  await app.ready()
  return app
}
