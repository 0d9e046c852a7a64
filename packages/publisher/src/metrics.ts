import { type Api, errorType } from './otel.js'
import type { PublisherGauges } from './telemetry-hooks.js'

/** The semantic conventions' buckets for messaging durations, in seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

/**
 * The publisher's metrics: messaging.client.sent.messages and messaging.client.operation.duration (publish to
 * confirm, error.type on a rejection) by exchange, and gauges of the buffer and the publishes in flight.
 */
export class PublishMetrics {
  readonly #meter: Api.Meter
  readonly #sent: Api.Counter
  readonly #duration: Api.Histogram

  constructor(meter: Api.Meter) {
    this.#meter = meter
    this.#sent = meter.createCounter('messaging.client.sent.messages', {
      description: 'Messages the publisher attempted to send (error.type set when the publish was rejected)',
      unit: '{message}',
    })
    this.#duration = meter.createHistogram('messaging.client.operation.duration', {
      description: 'Time from publish() to the broker confirm (or the rejection)',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    })
  }

  /** One publish settled, `seconds` after publish() was called. */
  settled(exchange: string, seconds: number, error: Error | null): void {
    const attributes: Api.Attributes = {
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': exchange,
    }
    if (error !== null) attributes['error.type'] = errorType(error)
    this.#sent.add(1, attributes)
    this.#duration.record(seconds, attributes)
  }

  /** Reports a publisher's gauges until the returned function is called. */
  observe(gauges: PublisherGauges): () => void {
    const meter = this.#meter
    const buffered = meter.createObservableGauge('fastify_amqp.publisher.buffered.messages', {
      description: 'Messages waiting in the offline buffer to be written',
      unit: '{message}',
    })
    const bytes = meter.createObservableGauge('fastify_amqp.publisher.buffered.bytes', {
      description: 'Body bytes waiting in the offline buffer',
      unit: 'By',
    })
    const inflight = meter.createObservableGauge('fastify_amqp.publisher.inflight.messages', {
      description: 'Messages written and waiting for the broker confirm',
      unit: '{message}',
    })
    const reportBuffered: Api.ObservableCallback = (result) => result.observe(gauges.buffered())
    const reportBytes: Api.ObservableCallback = (result) => result.observe(gauges.bufferedBytes())
    const reportInflight: Api.ObservableCallback = (result) => result.observe(gauges.inflight())
    buffered.addCallback(reportBuffered)
    bytes.addCallback(reportBytes)
    inflight.addCallback(reportInflight)
    return () => {
      buffered.removeCallback(reportBuffered)
      bytes.removeCallback(reportBytes)
      inflight.removeCallback(reportInflight)
    }
  }
}
