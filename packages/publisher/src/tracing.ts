import type { Options } from 'amqplib'
import { type Api, errorType, type OtelApi } from './otel.js'

/** A header carrier for the propagator: what it sets lands in the message's headers. */
const setter: Api.TextMapSetter<Record<string, unknown>> = {
  set(carrier, key, value) {
    carrier[key] = value
  },
}

/**
 * PRODUCER spans for publishes, with the messaging semantic conventions' attributes. A span starts in the
 * active context (the HTTP request's, a handler's) when publish() is called and ends at the broker's confirm.
 */
export class PublishTracing {
  readonly #api: OtelApi
  readonly #tracer: Api.Tracer

  constructor(api: OtelApi, tracer: Api.Tracer) {
    this.#api = api
    this.#tracer = tracer
  }

  start(exchange: string, routingKey: string): Api.Span {
    const attributes: Api.Attributes = {
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': exchange,
    }
    // Conditionally required: only when not empty.
    if (routingKey !== '') attributes['messaging.rabbitmq.destination.routing_key'] = routingKey
    return this.#tracer.startSpan(`publish ${exchange === '' ? 'amq.default' : exchange}`, {
      kind: this.#api.SpanKind.PRODUCER,
      attributes,
    })
  }

  /**
   * The message is accepted: its id and size on the span, and the span's context in its headers (traceparent,
   * tracestate with the W3C propagator). Injected once, here: a buffered or re-sent message carries the same.
   * The headers are a new object: the caller's stay untouched.
   */
  admitted(span: Api.Span, properties: Options.Publish, bytes: number): void {
    span.setAttribute('messaging.message.id', properties.messageId as string)
    span.setAttribute('messaging.message.body.size', bytes)
    if (properties.correlationId !== undefined)
      span.setAttribute('messaging.message.conversation_id', properties.correlationId)
    const api = this.#api
    const carrier: Record<string, unknown> = {}
    api.propagation.inject(api.trace.setSpan(api.context.active(), span), carrier, setter)
    // No propagator registered (or one that had nothing to say): no headers at all.
    for (const _ in carrier) {
      properties.headers = { ...properties.headers, ...carrier }
      break
    }
  }

  /** Confirmed (error null) or rejected: ends the span, an error status saying why. */
  end(span: Api.Span, error: Error | null): void {
    if (error !== null) {
      span.setAttribute('error.type', errorType(error))
      span.recordException(error)
      span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: error.message })
    }
    span.end()
  }
}
