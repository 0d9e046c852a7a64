import type { AmqpClient, ManagedConnection } from '@fastify-amqp/connection'
import type { Options } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import { Admission } from './admission.js'
import type { MessageSchema } from './compile-schema.js'
import { Entry, type PublishReceipt } from './entry.js'
import { PublisherClosedError } from './errors.js'
import { MessageIds } from './message-id.js'
import { type PublisherOptions, type ResolvedPublisherOptions, resolvePublisherOptions } from './options.js'
import { withArrival } from './rejections.js'
import { Requester, type RequestOptions } from './requester.js'
import { type BodyFor, SchemaChecks } from './schemas.js'
import { Sender } from './sender.js'
import type { PublisherTelemetryHooks, PublishObservation } from './telemetry-hooks.js'

export type { PublishReceipt } from './entry.js'
export type { PublisherOptions } from './options.js'

export interface PublishOptions extends Options.Publish {
  /** ms to wait for the confirm (buffered time included), instead of confirmTimeout. */
  timeout?: number
  /** Aborting rejects the publish with FST_AMQP_PUBLISHER_ABORTED, the signal's reason as its cause. */
  signal?: AbortSignal
  /** This publish's own limit instead of the publisher's maxMessageBytes (a limit the broker stated still applies). */
  maxMessageBytes?: number
}

/**
 * Publishes with confirms on one managed confirm channel. Confirms are matched by delivery tag;
 * what was written but not confirmed when a channel died is written again on the next one with
 * the same messageId, and while no channel is up messages wait in a bounded buffer. At-least-once:
 * a publish that resolved is stored by the broker; a rejected one may still have arrived
 * (timeout, abort, close), so a caller's retry can duplicate it, never lose it.
 */
export class Publisher {
  readonly #log: FastifyBaseLogger
  readonly #options: ResolvedPublisherOptions
  readonly #admission: Admission
  readonly #sender: Sender
  readonly #connection: ManagedConnection
  readonly #ids = new MessageIds()
  /** Set once publishing stops: why new publishes are refused. */
  #refusal: string | null = null
  #closing: Promise<void> | null = null
  readonly #amqp: AmqpClient
  /** request()'s reply channel, made at the first request. */
  #requester: Requester | null = null
  /** Traces and metrics, or null when no OpenTelemetry SDK is registered (see telemetry.ts). */
  readonly #telemetry: PublisherTelemetryHooks | null

  constructor(
    amqp: AmqpClient,
    options: PublisherOptions,
    log: FastifyBaseLogger,
    telemetry: PublisherTelemetryHooks | null = null
  ) {
    this.#options = resolvePublisherOptions(options)
    this.#log = log
    this.#amqp = amqp
    this.#telemetry = telemetry
    const schemas = Object.keys(this.#options.schemas).length > 0 ? new SchemaChecks(this.#options.schemas) : null
    this.#connection = amqp.connection('publish')
    const connection = this.#connection as { username?: string | null }
    this.#admission = new Admission(schemas, this.#options.maxMessageBytes, () => connection.username ?? null)
    this.#sender = new Sender(amqp, this.#options, log, telemetry, (bytes) => {
      this.#admission.brokerMaxMessageBytes = bytes
    })
    this.#connection.on('closed', this.#onConnectionClosed)
    this.#connection.on('connected', this.#onConnected)
    const sender = this.#sender
    telemetry?.observe(
      { buffered: () => sender.buffered, bufferedBytes: () => sender.bufferedBytes, inflight: () => sender.inflight },
      this.#connection
    )
  }

  /** Messages accepted and not settled yet: written and awaiting a confirm, plus buffered. */
  get pending(): number {
    return this.#sender.pending
  }

  /** The body schemas by `${exchange}:${routingKey}`, as given (read by the consumer's app.asyncapi()). */
  get schemas(): Readonly<Record<string, MessageSchema>> {
    return this.#options.schemas
  }

  publish<E extends string, R extends string>(
    exchange: E,
    routingKey: R,
    body: BodyFor<E, R>,
    options?: PublishOptions
  ): Promise<PublishReceipt> {
    const observation = this.#telemetry?.start(exchange, routingKey) ?? null
    if (this.#refusal !== null)
      return this.#refuse(observation, withArrival(new PublisherClosedError(this.#refusal), false))
    // Shed load before doing any work for a message that cannot be kept.
    const shed = this.#sender.shed()
    if (shed !== null) return this.#refuse(observation, shed)
    let content: Buffer
    try {
      content = this.#admission.admit(exchange, routingKey, body, options)
    } catch (err) {
      return this.#refuse(observation, err as Error)
    }
    const placement = this.#sender.place(content.length)
    if (placement instanceof Error) return this.#refuse(observation, placement)

    const now = Date.now()
    const contentType = content === body ? 'application/octet-stream' : 'application/json'
    const timestamp = Math.floor(now / 1000)
    // Without options (the common case) one literal, no spread: this runs for every message.
    const properties: PublishOptions =
      options === undefined
        ? { persistent: true, mandatory: true, contentType, timestamp, messageId: this.#ids.next() }
        : { persistent: true, mandatory: true, contentType, timestamp, ...options }
    properties.messageId ??= this.#ids.next()
    const timeout = options?.timeout ?? this.#options.confirmTimeout
    if (observation !== null) this.#telemetry?.admitted(observation, properties, content.length)
    const entry = new Entry(exchange, routingKey, content, properties, timeout, now + timeout, options?.signal)
    entry.observation = observation
    const promise = entry.promise()
    this.#sender.submit(entry, placement === 'write')
    return promise
  }

  /**
   * Publishes a request and resolves with its reply's body (JSON decoded), over direct reply-to: a consumer of
   * `@fastify-amqp/consumer` answers with its handler's return value. Rejects with a coded error that says whether
   * the request may have been handled (`mayHaveArrived`): timeout, remote error, lost channel, unroutable.
   */
  request<T = unknown, E extends string = string, R extends string = string>(
    exchange: E,
    routingKey: R,
    body: BodyFor<E, R>,
    options?: RequestOptions
  ): Promise<T> {
    if (this.#refusal !== null) return Promise.reject(withArrival(new PublisherClosedError(this.#refusal), false))
    this.#requester ??= new Requester(
      this.#amqp,
      this.#admission,
      this.#log,
      this.#options.requestTimeout,
      this.#telemetry
    )
    return this.#requester.request(exchange, routingKey, body, options) as Promise<T>
  }

  /** Rejected before it became an entry (closed, buffer full, refused by the checks). */
  #refuse(observation: PublishObservation | null, error: Error): Promise<PublishReceipt> {
    if (observation !== null) this.#telemetry?.settled(observation, error)
    return Promise.reject(error)
  }

  /** Stops accepting, waits up to closeTimeout for outstanding confirms, rejects what is left, closes the channel. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#refusal ??= 'close() was called'
    await this.#requester?.close()
    await this.#sender.close(this.#options.closeTimeout)
    this.#telemetry?.close()
    this.#connection.off('closed', this.#onConnectionClosed)
    this.#connection.off('connected', this.#onConnected)
  }

  // A (re)connection may reach a broker with another max_message_size: forget the one learned.
  #onConnected = (): void => {
    this.#admission.brokerMaxMessageBytes = Number.POSITIVE_INFINITY
  }

  // The connection gave up (reconnect.maxAttempts) or was closed: nothing will go out any more.
  #onConnectionClosed = (info: { error?: string }): void => {
    this.#refusal ??= `the AMQP connection closed${info.error ? ` (${info.error})` : ''}`
    this.#sender.failAll(this.#refusal)
  }
}
