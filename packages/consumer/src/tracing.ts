import type { Api, OtelApi } from '@fastify-amqp/publisher/telemetry'
import { attemptOf, type Delivery } from './delivery.js'
import { describeError } from './describe-error.js'
import { failureType } from './failure-type.js'
import { headersOf } from './headers.js'

/** How a consumer span relates to the producer's: its child (one trace), or a new trace linked to it. */
export type TraceContextMode = 'parent' | 'link'

/**
 * CONSUMER spans, one per delivery: its parent extracted from the message headers (or linked, by option),
 * the semantic conventions' attributes, and what became of the message when it ends.
 */
export class DeliveryTracing {
  readonly #api: OtelApi
  readonly #tracer: Api.Tracer
  readonly #mode: TraceContextMode

  constructor(api: OtelApi, tracer: Api.Tracer, mode: TraceContextMode) {
    this.#api = api
    this.#tracer = tracer
    this.#mode = mode
  }

  /** Starts the span; returns the context the handler runs in (the span active in it). */
  start(queue: string, delivery: Delivery): { span: Api.Span; context: Api.Context } {
    const api = this.#api
    const { fields, properties, content } = delivery.raw
    const producer = api.propagation.extract(api.ROOT_CONTEXT, headersOf(properties), api.defaultTextMapGetter)
    const attributes: Api.Attributes = {
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': fields.exchange,
      'messaging.destination.subscription.name': queue,
      'messaging.message.body.size': content.length,
      'messaging.rabbitmq.message.delivery_tag': fields.deliveryTag,
      'fastify_amqp.attempt': attemptOf(delivery.raw),
      'fastify_amqp.redelivered': fields.redelivered,
    }
    if (fields.routingKey !== '') attributes['messaging.rabbitmq.destination.routing_key'] = fields.routingKey
    if (typeof properties.messageId === 'string') attributes['messaging.message.id'] = properties.messageId
    if (typeof properties.correlationId === 'string')
      attributes['messaging.message.conversation_id'] = properties.correlationId
    const options: Api.SpanOptions = { kind: api.SpanKind.CONSUMER, attributes }
    let parent = producer
    if (this.#mode === 'link') {
      // A trace of its own, linked to the producer's span (when the message carried one).
      const linked = api.trace.getSpanContext(producer)
      if (linked !== undefined && api.isSpanContextValid(linked)) options.links = [{ context: linked }]
      parent = api.ROOT_CONTEXT
    }
    const span = this.#tracer.startSpan(`process ${queue}`, options, parent)
    const { traceId, spanId } = span.spanContext()
    delivery.logFields = { trace_id: traceId, span_id: spanId }
    return { span, context: api.trace.setSpan(parent, span) }
  }

  /** Ends the span with the outcome; an error status when the message was not handled (retry, dead letter...). */
  end(span: Api.Span, delivery: Delivery): void {
    const outcome = delivery.outcome ?? 'abandoned'
    span.setAttribute('fastify_amqp.outcome', outcome)
    if (delivery.deathReason !== null) span.setAttribute('fastify_amqp.dead_letter.reason', delivery.deathReason)
    if (outcome !== 'ack') {
      const failure = delivery.failure
      span.setAttribute('error.type', failureType(delivery, outcome))
      if (failure instanceof Error) span.recordException(failure)
      span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: describeError(failure ?? outcome) })
    }
    span.end()
  }
}
