import type { ConsumeMessageFields, MessageProperties, MessagePropertyHeaders } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import type { Delivery } from './delivery.js'
import { header, headersOf } from './headers.js'
import type { ConsumerMessage, PublisherLike, PublishOptions } from './types.js'

export interface MessageContext {
  queue: string
  log: FastifyBaseLogger
  publisher: () => PublisherLike
}

/** The object a handler receives. Its logger is made on first use: a child logger per message costs. */
export class Message<Body = unknown, Headers = MessagePropertyHeaders> implements ConsumerMessage<Body, Headers> {
  readonly body: Body
  readonly attempt: number
  readonly #delivery: Delivery
  readonly #context: MessageContext
  #log: FastifyBaseLogger | null = null
  #properties: MessageProperties | null = null

  constructor(delivery: Delivery, body: Body, attempt: number, context: MessageContext) {
    this.#delivery = delivery
    this.body = body
    this.attempt = attempt
    this.#context = context
  }

  /** Own entries only, rebuilt by the library (see headers.ts): no prototype a publisher could set. */
  get headers(): Headers {
    return headersOf(this.#delivery.raw.properties) as Headers
  }

  /** As amqplib delivered them, but with `headers` the rebuilt ones. */
  get properties(): MessageProperties {
    if (this.#properties === null) {
      const raw = this.#delivery.raw.properties
      this.#properties = raw.headers === undefined ? raw : { ...raw, headers: headersOf(raw) }
    }
    return this.#properties
  }

  get fields(): ConsumeMessageFields {
    return this.#delivery.raw.fields
  }

  get content(): Buffer {
    return this.#delivery.raw.content
  }

  get queue(): string {
    return this.#context.queue
  }

  get messageId(): string | undefined {
    return this.#delivery.raw.properties.messageId
  }

  get correlationId(): string | undefined {
    const { correlationId, messageId } = this.#delivery.raw.properties
    return correlationId ?? messageId
  }

  get redelivered(): boolean {
    return this.#delivery.raw.fields.redelivered
  }

  get deliveryCount(): number {
    const count = header(headersOf(this.#delivery.raw.properties), 'x-delivery-count')
    return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 0
  }

  get signal(): AbortSignal {
    return this.#delivery.signal
  }

  get log(): FastifyBaseLogger {
    if (this.#log === null) {
      const ids = { messageId: this.messageId, correlationId: this.correlationId }
      // With a span following the delivery, its ids join the log lines to the trace.
      const trace = this.#delivery.logFields
      this.#log = this.#context.log.child(trace === null ? ids : { ...ids, ...trace })
    }
    return this.#log
  }

  publish(
    exchange: string,
    routingKey: string,
    body: unknown,
    options?: PublishOptions
  ): Promise<{ messageId: string }> {
    const correlationId = options?.correlationId ?? this.correlationId
    const carried = correlationId === undefined ? options : { ...options, correlationId }
    return this.#context.publisher().publish(exchange, routingKey, body, carried)
  }
}
