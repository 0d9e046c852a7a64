import { Publisher } from '@fastify-amqp/publisher'
import { loadOpenTelemetry, publisherTelemetry } from '@fastify-amqp/publisher/telemetry'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Consumer } from './consumer.js'
import {
  ConsumerAlreadyRegisteredError,
  ConsumerAlreadyStartedError,
  ConsumerDrainTimeoutError,
  ConsumerDuplicateQueueError,
  ConsumerInvalidOptionError,
} from './errors.js'
import { brokerDropWarning, drainBudget, resolveConsumer, resolvePluginOptions } from './options.js'
import { PublishingGate } from './publishing.js'
import { ConsumerRegistry } from './registry.js'
import { consumerTelemetry } from './telemetry.js'
import type {
  ConsumeFunction,
  ConsumeHandler,
  ConsumeOptions,
  ConsumerInfo,
  ConsumerPluginOptions,
  ConsumerSettings,
  PublisherLike,
} from './types.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Declares a queue handler, as route() declares an HTTP one; consuming starts at ready. */
    consume: ConsumeFunction
    /** The declared consumers, in declaration order. */
    readonly consumers: readonly ConsumerInfo[]
    /** The declared consumers as a tree, like printRoutes(). */
    printConsumers(): string
  }
}

async function consumerPlugin(app: FastifyInstance, options: ConsumerPluginOptions): Promise<void> {
  const resolved = resolvePluginOptions(options)
  if (app.hasDecorator('consume')) throw new ConsumerAlreadyRegisteredError()

  const log = app.log.child({ plugin: '@fastify-amqp/consumer' })
  const registry = new ConsumerRegistry()
  const consumers: Consumer[] = []
  // Avvio bounds the preClose hook by pluginTimeout: past it, close() would reject and leave the connections open.
  const { drainMs, warning } = drainBudget(resolved, app.initialConfig.pluginTimeout ?? 0)
  if (warning) log.warn({ drainTimeout: resolved.drainTimeout, drainMs }, warning)
  const gate = new PublishingGate(consumers, app.amqp.connection('publish'), log)
  // Traces and metrics when the app has @opentelemetry/api and registered an SDK (before this plugin); else none.
  const otel = await loadOpenTelemetry()
  const telemetry = consumerTelemetry(otel, resolved.traceContext)
  let started = false
  let publisher: PublisherLike | null = null
  let ownPublisher: Publisher | null = null
  // Called only while handling a delivery, and deliveries start after onReady has set it.
  const getPublisher = (): PublisherLike => publisher as PublisherLike

  function consume(this: FastifyInstance, ...args: unknown[]): FastifyInstance {
    const declared = normalize(args)
    if (started) throw new ConsumerAlreadyStartedError(String(declared.queue))
    const def = resolveConsumer(declared, resolved)
    if (registry.has(def.queue)) throw new ConsumerDuplicateQueueError(def.queue)
    const dropWarning = brokerDropWarning(def)
    if (dropWarning) log.warn({ queue: def.queue }, dropWarning)
    // `this` is the instance consume() was called on: the handler sees that plugin's decorators.
    const consumer = new Consumer(def, declared.handler, declared.schema, this, {
      amqp: app.amqp,
      publisher: getPublisher,
      publishingGone: (why) => gate.gone(why),
      telemetry,
    })
    consumers.push(consumer)
    registry.add(consumer.info)
    return this
  }

  app.addHook('onReady', async () => {
    started = true
    // Share @fastify-amqp/publisher when it is registered; otherwise bring our own.
    if (app.hasDecorator('publisher')) publisher = (app as unknown as { publisher: PublisherLike }).publisher
    else if (consumers.length > 0) {
      const own = log.child({ role: 'consumer-publisher' })
      ownPublisher = new Publisher(app.amqp, resolved.publisher, own, publisherTelemetry(otel))
      publisher = ownPublisher
    }
    if (consumers.length > 0) {
      gate.watch()
      telemetry?.observe(app.amqp.connection('consume'))
    }
    await Promise.all(consumers.map((consumer) => consumer.start()))
    if (consumers.length > 0) log.info({ queues: consumers.map((c) => c.info.queue) }, 'amqp consumers started')
  })
  // preClose runs before every onClose hook, so the publishers that retries and handlers use are still open.
  app.addHook('preClose', async () => {
    gate.close()
    await drain(consumers, drainMs, log)
  })
  app.addHook('onClose', async () => {
    // Closing the channels hands back whatever is still unacked (abandoned handlers).
    await Promise.all(consumers.map((consumer) => consumer.close()))
    await ownPublisher?.close()
    telemetry?.close()
  })

  app.decorate('consume', consume as ConsumeFunction)
  app.decorate('consumers', {
    getter: () => registry.list,
  })
  app.decorate('printConsumers', () => registry.print())
}

function normalize(args: unknown[]): ConsumeOptions {
  if (args.length === 1) return args[0] as ConsumeOptions
  const [queue, settings, handler] = args as [string, ConsumerSettings | undefined, ConsumeHandler]
  if (typeof queue !== 'string')
    throw new ConsumerInvalidOptionError('queue', 'expected consume(queue, options, handler)')
  if (settings !== undefined && (typeof settings !== 'object' || settings === null))
    throw new ConsumerInvalidOptionError('options', 'expected consume(queue, options, handler)')
  return { ...settings, queue, handler }
}

/**
 * Cancel every consumer and wait for running handlers, the two together bounded by `ms` (drainTimeout, fitted
 * within Fastify's pluginTimeout): a basic.cancel on a dead socket would otherwise wait for the heartbeat. Then
 * give up on what is unfinished; closing the channels hands it back to the broker, which redelivers it.
 */
async function drain(consumers: Consumer[], ms: number, log: FastifyBaseLogger): Promise<void> {
  if (consumers.length === 0) return
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    const cancelled = await Promise.race([
      Promise.all(consumers.map((consumer) => consumer.cancel())).then(() => true),
      deadline,
    ])
    if (!cancelled) log.warn({ drainTimeout: ms }, 'amqp consumers: basic.cancel not answered within drainTimeout')
    const inFlight = consumers.reduce((sum, consumer) => sum + consumer.inFlight, 0)
    if (inFlight === 0) return
    if (cancelled) log.info({ inFlight, drainTimeout: ms }, 'amqp consumers cancelled; waiting for running handlers')
    const idle = cancelled
      ? await Promise.race([Promise.all(consumers.map((consumer) => consumer.idle())).then(() => true), deadline])
      : false
    if (idle) return
  } finally {
    clearTimeout(timer)
  }
  const reason = new ConsumerDrainTimeoutError(ms)
  const abandoned = consumers.reduce((sum, consumer) => sum + consumer.abandon(reason), 0)
  log.warn(
    { abandoned, drainTimeout: ms },
    'amqp consumers: drain timed out; unfinished messages are left to the broker'
  )
}

export const consumer = fp(consumerPlugin, {
  fastify: '5.x',
  name: '@fastify-amqp/consumer',
  decorators: { fastify: ['amqp'] },
  dependencies: ['@fastify-amqp/connection'],
})
export default consumer

export type { DeathReason } from './decode.js'
export * from './errors.js'
export { consumerQueueArguments } from './options.js'
export type {
  BindingOptions,
  BodyOf,
  ConsumeFunction,
  ConsumeHandler,
  ConsumeOptions,
  ConsumerInfo,
  ConsumerMessage,
  ConsumerPluginOptions,
  ConsumerSettings,
  ConsumeSchema,
  HeadersOf,
  PublisherLike,
  PublishOptions,
  QueueOptions,
  RetryDelay,
  RetryOptions,
} from './types.js'
