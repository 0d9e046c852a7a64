import { Publisher } from '@fastify-amqp/publisher'
import { loadOpenTelemetry, publisherTelemetry } from '@fastify-amqp/publisher/telemetry'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { DescribedConsumer } from './asyncapi.js'
import { asyncapiOf } from './asyncapi-plugin.js'
import type { AsyncApiDocument } from './asyncapi-types.js'
import { Consumer } from './consumer.js'
import {
  ConsumerAlreadyRegisteredError,
  ConsumerAlreadyStartedError,
  ConsumerDrainTimeoutError,
  ConsumerDuplicateQueueError,
  ConsumerInvalidOptionError,
  ConsumerUnknownQueueError,
} from './errors.js'
import { brokerDropWarning, drainBudget, resolveConsumer, resolvePluginOptions, startBudget } from './options.js'
import { PublishingGate } from './publishing.js'
import { type ConsumerHealth, type ConsumerPhase, consumerHealth } from './readiness.js'
import { ConsumerRegistry } from './registry.js'
import { consumerTelemetry } from './telemetry.js'
import type {
  ConsumeFunction,
  ConsumeHandler,
  ConsumeOptions,
  ConsumerInfo,
  ConsumerPluginOptions,
  ConsumerSettings,
  ExclusiveConsumeOptions,
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
    /**
     * Stops consuming one queue until resumeConsumer(queue), across reconnects: basic.cancel, unstarted deliveries
     * back to the queue, running handlers finish and ack. Resolves once the broker answered the cancel.
     */
    pauseConsumer(queue: string): Promise<void>
    /** Consumes a paused queue again; resolves once subscribed (or at once while its channel is down). */
    resumeConsumer(queue: string): Promise<void>
    /** Whether every declared consumer is subscribed (readiness), and which are not. */
    consumerHealth(): ConsumerHealth
    /** The AsyncAPI 3.0.0 document of the consumers and of app.publisher's schemas. */
    asyncapi(): AsyncApiDocument
  }
}

async function consumerPlugin(app: FastifyInstance, options: ConsumerPluginOptions): Promise<void> {
  const resolved = resolvePluginOptions(options)
  if (app.hasDecorator('consume')) throw new ConsumerAlreadyRegisteredError()

  const log = app.log.child({ plugin: '@fastify-amqp/consumer' })
  const registry = new ConsumerRegistry()
  const consumers: Consumer[] = []
  const byQueue = new Map<string, Consumer>()
  const consumerOf = (queue: string): Consumer => {
    const found = byQueue.get(queue)
    if (!found) throw new ConsumerUnknownQueueError(queue)
    return found
  }
  const described: DescribedConsumer[] = []
  let phase: ConsumerPhase = 'declaring'
  // Avvio bounds the onReady and preClose hooks by pluginTimeout: past it, ready() or close() would reject (and
  // close() leave the connections open).
  const pluginTimeout = app.initialConfig.pluginTimeout ?? 0
  const { drainMs, warning } = drainBudget(resolved, pluginTimeout)
  if (warning) log.warn({ drainTimeout: resolved.drainTimeout, drainMs }, warning)
  const { startMs, warning: startWarning } = startBudget(resolved, pluginTimeout)
  if (startWarning) log.warn({ startTimeout: resolved.startTimeout, startMs }, startWarning)
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
    if (started) throw new ConsumerAlreadyStartedError(declared.queue ?? '(an exclusive queue)')
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
    byQueue.set(def.queue, consumer)
    registry.add(consumer.info)
    described.push({ info: consumer.info, schema: declared.schema })
    return this
  }

  app.addHook('onReady', async () => {
    started = true
    phase = 'running'
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
    await startAll(consumers, startMs, log)
  })
  // preClose runs before every onClose hook, so the publishers that retries and handlers use are still open.
  app.addHook('preClose', async () => {
    phase = 'closing'
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
  app.decorate('pauseConsumer', async (queue: string) => consumerOf(queue).pause())
  app.decorate('resumeConsumer', async (queue: string) => consumerOf(queue).unpause())
  app.decorate('consumerHealth', () => consumerHealth(registry.list, phase))
  app.decorate('asyncapi', asyncapiOf(app, options.asyncapi, described))
}

function normalize(args: unknown[]): ConsumeOptions | ExclusiveConsumeOptions {
  if (args.length === 1) return args[0] as ConsumeOptions | ExclusiveConsumeOptions
  const [queue, settings, handler] = args as [string, ConsumerSettings | undefined, ConsumeHandler]
  if (typeof queue !== 'string')
    throw new ConsumerInvalidOptionError('queue', 'expected consume(queue, options, handler)')
  if (settings !== undefined && (typeof settings !== 'object' || settings === null))
    throw new ConsumerInvalidOptionError('options', 'expected consume(queue, options, handler)')
  return { ...settings, queue, handler }
}

/** Starts every consumer; ready() waits for their first subscriptions, but not past `ms` (startTimeout). */
async function startAll(consumers: Consumer[], ms: number, log: FastifyBaseLogger): Promise<void> {
  if (consumers.length === 0) return
  let pending = consumers.length
  const started = Promise.all(
    consumers.map((consumer) =>
      consumer.start().finally(() => {
        pending -= 1
      })
    )
  )
  let timer: NodeJS.Timeout | undefined
  const slow = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  await Promise.race([started, slow]).finally(() => clearTimeout(timer))
  // One line for them all: thousands of consumers must not mean thousands of warnings.
  if (pending > 0)
    log.warn(
      { pending, consumers: consumers.length, waited: ms },
      'amqp consumers not subscribed yet; each will be when its channel opens'
    )
  const queues = consumers.length <= 20 ? consumers.map((c) => c.info.queue) : undefined
  log.info({ consumers: consumers.length, queues }, 'amqp consumers started')
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

export type {
  AsyncApiChannel,
  AsyncApiDocument,
  AsyncApiMessage,
  AsyncApiOperation,
  AsyncApiOptions,
  AsyncApiRef,
} from './asyncapi-types.js'
export type { DeathReason } from './decode.js'
export * from './errors.js'
export { consumerQueueArguments } from './options.js'
export type { ConsumerHealth } from './readiness.js'
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
  ExclusiveConsumeOptions,
  HeadersOf,
  PublisherLike,
  PublishOptions,
  QueueOptions,
  RetryDelay,
  RetryOptions,
} from './types.js'
