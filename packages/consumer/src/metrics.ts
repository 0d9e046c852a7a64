import { type Api, DURATION_BUCKETS } from '@fastify-amqp/publisher/telemetry'
import type { Delivery } from './delivery.js'
import { failureType } from './failure-type.js'

/**
 * The consumer's metrics: messaging.client.consumed.messages and messaging.process.duration (semantic
 * conventions) by queue, and the library's own: retries, dead letters by reason, handlers running.
 */
export class ConsumeMetrics {
  readonly #consumed: Api.Counter
  readonly #duration: Api.Histogram
  readonly #retries: Api.Counter
  readonly #deadLetters: Api.Counter
  readonly #running: Api.UpDownCounter

  constructor(meter: Api.Meter) {
    this.#consumed = meter.createCounter('messaging.client.consumed.messages', {
      description: 'Messages delivered to the consumer',
      unit: '{message}',
    })
    this.#duration = meter.createHistogram('messaging.process.duration', {
      description: 'Time to process a delivery: decode, handler, and its ack, retry or dead letter',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    })
    this.#retries = meter.createCounter('fastify_amqp.consumer.retries', {
      description: 'Messages sent to a delay queue for another try',
      unit: '{message}',
    })
    this.#deadLetters = meter.createCounter('fastify_amqp.consumer.dead_letters', {
      description: 'Messages dead-lettered, by reason',
      unit: '{message}',
    })
    this.#running = meter.createUpDownCounter('fastify_amqp.consumer.handlers.running', {
      description: 'Deliveries being processed now',
      unit: '{message}',
    })
  }

  /** Attributes shared by one delivery's points. */
  attributes(queue: string, delivery: Delivery): Api.Attributes {
    return {
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': delivery.raw.fields.exchange,
      'messaging.destination.subscription.name': queue,
    }
  }

  started(attributes: Api.Attributes): void {
    this.#consumed.add(1, attributes)
    this.#running.add(1, attributes)
  }

  ended(attributes: Api.Attributes, delivery: Delivery, seconds: number): void {
    this.#running.add(-1, attributes)
    const outcome = delivery.outcome ?? 'abandoned'
    const withOutcome: Api.Attributes = { ...attributes, 'fastify_amqp.outcome': outcome }
    if (outcome !== 'ack') withOutcome['error.type'] = failureType(delivery, outcome)
    this.#duration.record(seconds, withOutcome)
    if (outcome === 'retry') this.#retries.add(1, attributes)
    else if (outcome === 'dead-letter')
      this.#deadLetters.add(1, { ...attributes, 'fastify_amqp.dead_letter.reason': delivery.deathReason ?? 'unknown' })
  }
}
