import type { ManagedConnection } from '@fastify-amqp/connection'
import type { Options } from 'amqplib'
import { observeConnection } from './connection-metrics.js'
import { PublishMetrics } from './metrics.js'
import { type Api, type OtelApi, registeredMeter, registeredTracer } from './otel.js'
import type { PublisherGauges, PublisherTelemetryHooks, PublishObservation } from './telemetry-hooks.js'
import { PublishTracing } from './tracing.js'

const SCOPE = '@fastify-amqp/publisher'

/** One publish as telemetry follows it: its span too, when a tracer provider is registered. */
class TracedPublish implements PublishObservation {
  /** The PRODUCER span, or null when no tracer provider is registered. */
  readonly span: Api.Span | null
  readonly exchange: string
  readonly startedAt = performance.now()

  constructor(span: Api.Span | null, exchange: string) {
    this.span = span
    this.exchange = exchange
  }
}

/**
 * Traces and metrics of one publisher through @opentelemetry/api, for what an SDK registered: a tracer
 * provider, a meter provider, or both. Null (see publisherTelemetry) when neither is: nothing is done per message.
 */
export class PublisherTelemetry implements PublisherTelemetryHooks {
  readonly #tracing: PublishTracing | null
  readonly #metrics: PublishMetrics | null
  readonly #meter: Api.Meter | null
  #stop: (() => void)[] = []

  constructor(api: OtelApi, tracer: Api.Tracer | null, meter: Api.Meter | null) {
    this.#tracing = tracer === null ? null : new PublishTracing(api, tracer)
    this.#meter = meter
    this.#metrics = meter === null ? null : new PublishMetrics(meter)
  }

  /** Reports the publisher's gauges and its connection's state until close(). */
  observe(gauges: PublisherGauges, connection: ManagedConnection): void {
    if (this.#metrics === null || this.#meter === null) return
    this.#stop.push(this.#metrics.observe(gauges), observeConnection(this.#meter, connection, 'publish'))
  }

  start(exchange: string, routingKey: string): TracedPublish {
    return new TracedPublish(this.#tracing?.start(exchange, routingKey) ?? null, exchange)
  }

  /** Accepted: the id and size on the span, its context in the headers (once: re-sends carry the same). */
  admitted(observation: TracedPublish, properties: Options.Publish, bytes: number): void {
    if (observation.span !== null) this.#tracing?.admitted(observation.span, properties, bytes)
  }

  /** Confirmed (error null) or rejected. */
  settled(observation: TracedPublish, error: Error | null): void {
    if (observation.span !== null) this.#tracing?.end(observation.span, error)
    this.#metrics?.settled(observation.exchange, (performance.now() - observation.startedAt) / 1000, error)
  }

  close(): void {
    for (const stop of this.#stop) stop()
    this.#stop = []
  }
}

/** Telemetry for a publisher, or null when @opentelemetry/api is absent or no SDK registered a provider. */
export function publisherTelemetry(api: OtelApi | null): PublisherTelemetry | null {
  if (api === null) return null
  const tracer = registeredTracer(api, SCOPE)
  const meter = registeredMeter(api, SCOPE)
  return tracer === null && meter === null ? null : new PublisherTelemetry(api, tracer, meter)
}
