import { DocumentIds } from './asyncapi-ids.js'
import { bodyMessage, deadLetterMessage } from './asyncapi-messages.js'
import type { AsyncApiChannel, AsyncApiDocument, AsyncApiMessage, AsyncApiOptions } from './asyncapi-types.js'
import type { ConsumerInfo, ConsumeSchema } from './types.js'

const BINDING_VERSION = '0.3.0'

/** One app.consume() as the document needs it: its registry entry and the schema it was declared with. */
export interface DescribedConsumer {
  info: ConsumerInfo
  schema: ConsumeSchema | undefined
}

export interface AsyncApiSources {
  consumers: readonly DescribedConsumer[]
  /** The publisher's schemas by `${exchange}:${routingKey}` (app.publisher.schemas), or none. */
  publisherSchemas: Readonly<Record<string, object>>
}

/**
 * The AsyncAPI 3.0.0 document of an app: a receive operation per consumer, on a channel for its queue; a send
 * operation per publisher schema, on a channel for its exchange and routing key (the queue's, on the default
 * exchange). A consumer's bindings are channels of their exchange and routing key too, and its delay and
 * dead-letter queues channels of their own, linked by `x-` extensions (see the consumer README).
 */
export function buildAsyncApi(sources: AsyncApiSources, options: AsyncApiOptions = {}): AsyncApiDocument {
  return new DocumentBuilder(options).build(sources)
}

class DocumentBuilder {
  readonly #ids = new DocumentIds()
  readonly #doc: AsyncApiDocument
  /** Route channels described by a publisher schema. */
  readonly #published = new Set<string>()

  constructor(options: AsyncApiOptions) {
    const info: AsyncApiDocument['info'] = {
      title: options.info?.title ?? 'fastify-amqp service',
      version: options.info?.version ?? '1.0.0',
    }
    if (options.info?.description !== undefined) info.description = options.info.description
    this.#doc = {
      asyncapi: '3.0.0',
      info,
      ...(options.servers === undefined ? {} : { servers: options.servers }),
      defaultContentType: 'application/json',
      channels: {},
      operations: {},
      components: { messages: {} },
    }
  }

  build(sources: AsyncApiSources): AsyncApiDocument {
    // Sends first: a routing key that has a publisher schema is described by it, not by a consumer's guess.
    for (const [key, schema] of Object.entries(sources.publisherSchemas)) this.#send(key, schema)
    for (const consumer of sources.consumers) this.#receive(consumer)
    return this.#doc
  }

  #send(key: string, schema: object): void {
    const colon = key.indexOf(':')
    // A key without a colon names no exchange and routing key: the publisher never matches it either.
    if (colon === -1) return
    const exchange = key.slice(0, colon)
    const routingKey = key.slice(colon + 1)
    const channelId = exchange === '' ? this.#queueChannel(routingKey, false) : this.#routeChannel(exchange, routingKey)
    if (exchange !== '') this.#published.add(channelId)
    const messageKey = this.#message(
      channelId,
      `${channelId}.published`,
      bodyMessage({ body: schema }, key, `Published to ${describeRoute(exchange, routingKey)}`)
    )
    this.#doc.operations[this.#ids.take('operation', `${channelId}.send`)] = {
      action: 'send',
      channel: { $ref: `#/channels/${channelId}` },
      messages: [{ $ref: `#/channels/${channelId}/messages/${messageKey}` }],
      summary: `Publish to ${describeRoute(exchange, routingKey)}, confirmed by the broker`,
      bindings: {
        // The publisher's defaults: persistent, mandatory (unroutable = rejected), timestamped.
        amqp: { deliveryMode: 2, mandatory: true, timestamp: true, bindingVersion: BINDING_VERSION },
      },
    }
  }

  #receive({ info, schema }: DescribedConsumer): void {
    const { queue } = info
    const channelId = this.#queueChannel(queue)
    const channel = this.#doc.channels[channelId] as AsyncApiChannel
    channel.description = `Consumed by app.consume() (${info.queueOptions.type ?? 'classic'} queue)`
    channel['x-queue-type'] = info.queueOptions.type ?? 'classic'
    const messageKey = this.#message(
      channelId,
      `${channelId}.message`,
      bodyMessage(schema, queue, `Consumed from ${queue}`)
    )
    const messageRef = { $ref: `#/components/messages/${messageKey}` }

    const bindings = info.bindings.map((binding) => {
      // app.consumers holds the bindings resolved: routingKey is always set.
      const routingKey = binding.routingKey as string
      const routeId = this.#routeChannel(binding.exchange, routingKey, binding.exchangeType)
      const route = this.#doc.channels[routeId] as AsyncApiChannel
      // Without a publisher schema for it, the route carries what its consumers expect.
      if (!this.#published.has(routeId)) route.messages[messageKey] = messageRef
      const out: Record<string, unknown> = { exchange: binding.exchange, routingKey, channel: routeId }
      if (binding.arguments !== undefined) out.arguments = binding.arguments
      return out
    })
    channel['x-bindings'] = bindings

    const delays = [...new Set(info.retry.delays)]
    const delayChannels = info.delayQueues.map((delayQueue, i) => {
      const id = this.#queueChannel(delayQueue)
      const delay = this.#doc.channels[id] as AsyncApiChannel
      delay.description = `Retry delay queue of ${queue}: messages wait here, then go back to ${queue}`
      delay.messages[messageKey] = messageRef
      delay['x-delay-queue-of'] = channelId
      // The order of delayQueues (one per distinct delay, registry.ts).
      delay['x-message-ttl'] = delays[i]
      return id
    })
    let deadLetterChannel: string | null = null
    if (info.deadLetterQueue !== null) {
      deadLetterChannel = this.#queueChannel(info.deadLetterQueue)
      const dlq = this.#doc.channels[deadLetterChannel] as AsyncApiChannel
      dlq.description = `Dead-letter queue of ${queue}: what its consumer gave up on, with why`
      dlq['x-dead-letter-queue-of'] = channelId
      this.#message(deadLetterChannel, `${deadLetterChannel}.message`, deadLetterMessage(queue))
    }

    this.#doc.operations[this.#ids.take('operation', `${channelId}.receive`)] = {
      action: 'receive',
      channel: { $ref: `#/channels/${channelId}` },
      messages: [{ $ref: `#/channels/${channelId}/messages/${messageKey}` }],
      summary: `Handle each message from ${queue}; acked once the handler resolves`,
      bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } },
      'x-prefetch': info.prefetch,
      'x-concurrency': info.concurrency,
      'x-retry': { attempts: info.retry.attempts, delays: info.retry.delays, delayQueues: delayChannels },
      'x-dead-letter-queue': deadLetterChannel,
    }
  }

  /**
   * The channel of a queue (`is: queue`), made on first use. `declared`: a consumer declares it (durable, not
   * exclusive, not auto-deleted); a queue only published to (default exchange) is named and nothing more.
   */
  #queueChannel(queue: string, declared = true): string {
    const id = this.#ids.take('queue', queue)
    this.#doc.channels[id] ??= {
      address: address(queue),
      messages: {},
      bindings: { amqp: { is: 'queue', queue: { name: queue }, bindingVersion: BINDING_VERSION } },
    }
    if (declared)
      this.#doc.channels[id].bindings.amqp.queue = { name: queue, durable: true, exclusive: false, autoDelete: false }
    return id
  }

  /** The channel of an exchange and routing key (`is: routingKey`), made on first use; its type once known. */
  #routeChannel(exchange: string, routingKey: string, type?: string): string {
    const id = this.#ids.take('route', `${exchange}.${routingKey}`)
    this.#doc.channels[id] ??= {
      address: address(routingKey),
      title: describeRoute(exchange, routingKey),
      messages: {},
      bindings: { amqp: { is: 'routingKey', exchange: { name: exchange }, bindingVersion: BINDING_VERSION } },
    }
    const channel = this.#doc.channels[id]
    // A consumer binding with exchangeType asserts the exchange durable with that type.
    if (type !== undefined)
      (channel.bindings.amqp as { exchange: object }).exchange = {
        name: exchange,
        type,
        durable: true,
        autoDelete: false,
      }
    return id
  }

  /** Adds a message to the components and to the channel; returns its key in the channel. */
  #message(channelId: string, name: string, message: AsyncApiMessage): string {
    const id = this.#ids.take('message', name)
    this.#doc.components.messages[id] = message
    const channel = this.#doc.channels[channelId] as AsyncApiChannel
    channel.messages[id] = { $ref: `#/components/messages/${id}` }
    return id
  }
}

// AsyncAPI reads `{name}` in an address as a parameter, and '' is no address: those go as null (unknown), the
// name staying in the binding.
function address(name: string): string | null {
  return name === '' || /[{}]/.test(name) ? null : name
}

function describeRoute(exchange: string, routingKey: string): string {
  if (exchange === '') return `queue ${routingKey} (default exchange)`
  return routingKey === '' ? `exchange ${exchange}` : `exchange ${exchange}, routing key ${routingKey}`
}
