import type { MessageSchema, PublishOptions, StaticOf } from '@fastify-amqp/publisher'
import type { ConsumeMessageFields, MessageProperties, MessagePropertyHeaders } from 'amqplib'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { AsyncApiOptions } from './asyncapi-types.js'

// The publisher's own type: the consumer publishes through it (app.publisher, or one of its own).
export type { PublishOptions }

/** Exponential: initial * factor^(attempt-1), capped at max. A number: the same delay every time. */
export interface RetryDelay {
  /** ms before the second try. */
  initial: number
  /** Growth per further try. Default 2. */
  factor?: number
  /** Cap, ms. Default 60 000. */
  max?: number
}

export interface RetryOptions {
  /** Every try counts, the first included: 3 = the handler runs at most three times. 1 = no retry. */
  attempts?: number
  /** ms (fixed) or an exponential schedule. */
  delay?: number | RetryDelay
}

export interface QueueOptions {
  /** 'classic' (default) declares no x-queue-type, so an existing plain durable queue matches. */
  type?: 'classic' | 'quorum'
  /** x-delivery-limit (quorum queues). */
  deliveryLimit?: number
  /** x-message-ttl, ms. */
  messageTtl?: number
  /** x-max-length. */
  maxLength?: number
  /**
   * x-single-active-consumer: of every app instance consuming the queue, one gets deliveries at a time and the
   * next takes over when it goes (ordered processing with a standby). Main queue only.
   */
  singleActiveConsumer?: boolean
  /** x-max-priority, 1..255 (classic queues; a quorum queue has two priorities of its own). Given to its DLQ too. */
  maxPriority?: number
  /** Any other x-arguments, passed as they are. */
  arguments?: Record<string, unknown>
}

export interface BindingOptions {
  exchange: string
  /** Default ''. */
  routingKey?: string
  /** When given, the exchange is asserted (durable) with this type before binding; otherwise it must exist. */
  exchangeType?: 'direct' | 'topic' | 'fanout' | 'headers'
  /** Binding arguments (headers exchanges). */
  arguments?: Record<string, unknown>
}

/** Schemas of typebox 1.x, @sinclair/typebox 0.34 or JSON Schema, each compiled once, by its own line's compiler. */
export interface ConsumeSchema {
  body?: MessageSchema
  headers?: MessageSchema
}

export type BodyOf<S> = S extends { body: infer B extends MessageSchema } ? StaticOf<B> : unknown
export type HeadersOf<S> = S extends { headers: infer H extends MessageSchema }
  ? StaticOf<H> & MessagePropertyHeaders
  : MessagePropertyHeaders

/** What a handler receives: one delivery, decoded and validated. */
export interface ConsumerMessage<Body = unknown, Headers = MessagePropertyHeaders> {
  /** The JSON body, validated against schema.body when given. */
  readonly body: Body
  readonly headers: Headers
  readonly properties: MessageProperties
  readonly fields: ConsumeMessageFields
  /** The raw bytes as delivered. */
  readonly content: Buffer
  readonly queue: string
  readonly messageId: string | undefined
  /** The message's correlationId, or its messageId when it has none. */
  readonly correlationId: string | undefined
  /** Set by the broker when the message was delivered before (e.g. its channel died unacked). */
  readonly redelivered: boolean
  /** 1 on the first try, 2 on the first retry... (the x-attempt header). */
  readonly attempt: number
  /**
   * Failed deliveries of this message before this one, as a quorum queue counts them (its x-delivery-count
   * header; RabbitMQ 4.3 counts basic.reject and lost channels, not basic.nack). 0 on a first delivery and
   * on queues that do not count (classic). The broker dead-letters at the queue's delivery limit.
   */
  readonly deliveryCount: number
  /** Child of the instance's logger with messageId, correlationId and queue. */
  readonly log: FastifyBaseLogger
  /** Aborts when the delivering channel is lost (the ack would be void) or app.close() stops waiting. */
  readonly signal: AbortSignal
  /** Publishes with confirms through the shared publisher; correlationId carried over unless given. */
  publish(exchange: string, routingKey: string, body: unknown, options?: PublishOptions): Promise<{ messageId: string }>
}

export type ConsumeHandler<S extends ConsumeSchema = ConsumeSchema> = (
  this: FastifyInstance,
  message: ConsumerMessage<BodyOf<S>, HeadersOf<S>>
) => Promise<unknown> | unknown

export interface ConsumerSettings<S extends ConsumeSchema = ConsumeSchema> {
  queueOptions?: QueueOptions
  bindings?: BindingOptions[]
  schema?: S
  /** Unacked deliveries the broker may send at once. Default: the plugin's (50). */
  prefetch?: number
  /** Handlers running at once. Default: this consumer's prefetch. */
  concurrency?: number
  /**
   * ms a handler may run; past it, its signal aborts (FST_AMQP_CONSUMER_HANDLER_TIMEOUT), its slot is freed and
   * the message is retried or dead-lettered as a failure. 0 = no limit. Default: the plugin's (25 minutes).
   */
  handlerTimeout?: number
  /**
   * A message delivered this many times without its handler finishing (its process or channel died under it) is
   * dead-lettered (`redelivery-limit`) before the handler runs again. 0 = no limit. Default: the plugin's (10).
   */
  maxDeliveries?: number
  /** Merged over the plugin's retry options; false = no retries. */
  retry?: RetryOptions | false
  /** Failed and poison messages go to `<queue>.dlq`. Default: the plugin's (true). */
  deadLetter?: boolean
  /** Consumer priority (x-priority on basic.consume): the broker feeds higher ones first while they have room. */
  priority?: number
  /**
   * basic.consume exclusive: no other consumer may consume the queue while this one does. Another instance's
   * subscription is refused (403) and retried with backoff; `queueOptions.singleActiveConsumer` is the gentler way.
   */
  exclusiveConsumer?: boolean
  /** Consumer tags `<prefix>.<random>` (what the management UI lists), instead of the broker's amq.ctag-... */
  consumerTagPrefix?: string
}

export interface ConsumeOptions<S extends ConsumeSchema = ConsumeSchema> extends ConsumerSettings<S> {
  queue: string
  handler: ConsumeHandler<S>
}

/**
 * A queue of this app instance's own, for fan-out (cache invalidation, server-sent events): exclusive to its
 * connection, deleted by the broker when that closes, named `<queuePrefix>.<uuid>`, and declared and bound again
 * after every reconnect. What is published while the instance is disconnected is not kept for it. No retries and
 * no DLQ (they would outlive the instance): a failed or poison message is rejected, and logged.
 */
export interface ExclusiveConsumeOptions<S extends ConsumeSchema = ConsumeSchema>
  extends Omit<ConsumerSettings<S>, 'retry' | 'deadLetter' | 'maxDeliveries'> {
  exclusive: true
  /** Default 'broadcast'. */
  queuePrefix?: string
  queue?: undefined
  handler: ConsumeHandler<S>
}

export interface ConsumeFunction {
  // biome-ignore lint/complexity/noBannedTypes: {} is "no schema", so the body is unknown
  <S extends ConsumeSchema = {}>(options: ConsumeOptions<S> | ExclusiveConsumeOptions<S>): FastifyInstance
  // biome-ignore lint/complexity/noBannedTypes: as above
  <S extends ConsumeSchema = {}>(
    queue: string,
    options: ConsumerSettings<S>,
    handler: ConsumeHandler<S>
  ): FastifyInstance
}

/** One entry of app.consumers: what was declared, resolved with the defaults, and live counters. */
export interface ConsumerInfo {
  readonly queue: string
  readonly queueOptions: Readonly<QueueOptions>
  readonly bindings: readonly Readonly<BindingOptions>[]
  readonly prefetch: number
  readonly concurrency: number
  readonly handlerTimeout: number
  readonly maxDeliveries: number
  readonly retry: { readonly attempts: number; readonly delays: readonly number[] }
  readonly deadLetter: boolean
  readonly deadLetterQueue: string | null
  readonly delayQueues: readonly string[]
  readonly hasBodySchema: boolean
  /** The queue is this instance's own (exclusive: true): its name was made at consume(). */
  readonly exclusive: boolean
  /** True while subscribed on an open channel. */
  readonly active: boolean
  /** Why the consumer is stopped while the app runs (publishing has stopped for good), or null. */
  readonly suspended: string | null
  /** True between app.pauseConsumer(queue) and app.resumeConsumer(queue). */
  readonly paused: boolean
  /** Handlers running now. */
  readonly inFlight: number
}

export interface ConsumerPluginOptions {
  /** Default prefetch of every consumer. Default 50. */
  prefetch?: number
  /** Default concurrency; by default each consumer's prefetch. */
  concurrency?: number
  /** Default handlerTimeout of every consumer, ms; 0 = no limit. Default 1 500 000 (25 minutes). */
  handlerTimeout?: number
  /**
   * How long app.close() waits for the consumers' cancel and running handlers, ms. Default 10 000, or less to fit
   * within Fastify's pluginTimeout (9 000 at its default of 10 000); a larger value yields to pluginTimeout.
   */
  drainTimeout?: number
  /**
   * How long ready() waits for every consumer's first subscription, ms; those still pending then subscribe as soon
   * as they can (one warning says how many). Default 5 000; like drainTimeout it yields to Fastify's pluginTimeout.
   */
  startTimeout?: number
  /** Default maxDeliveries of every consumer; 0 = no limit. Default 10. */
  maxDeliveries?: number
  /** Larger bodies are dead-lettered unread ('too-large'). Default 1 MiB. */
  maxBodyBytes?: number
  /** Default for every consumer. Default true. */
  deadLetter?: boolean
  /** Default for every consumer. Default { attempts: 5, delay: { initial: 1000, factor: 2, max: 60000 } }. */
  retry?: RetryOptions | false
  /** app.asyncapi()'s info and servers, and `route` to serve the document at (off by default). */
  asyncapi?: AsyncApiOptions
  /**
   * With an OpenTelemetry SDK registered: each delivery's CONSUMER span continues the producer's trace from the
   * message headers ('parent', default), or starts a trace of its own linked to it ('link').
   */
  traceContext?: 'parent' | 'link'
  /** Options for the publisher this plugin creates when @fastify-amqp/publisher is not registered. */
  publisher?: {
    confirmTimeout?: number
    buffer?: { maxMessages?: number; maxBytes?: number }
    closeTimeout?: number
  }
}

/** The subset of @fastify-amqp/publisher's Publisher this plugin uses. */
export interface PublisherLike {
  publish(exchange: string, routingKey: string, body: unknown, options?: PublishOptions): Promise<{ messageId: string }>
  close(): Promise<void>
}
