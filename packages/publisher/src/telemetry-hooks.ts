import type { ManagedConnection } from '@fastify-amqp/connection'
import type { Options } from 'amqplib'

// What the publisher calls on its telemetry, in types of its own: the published declarations of Publisher name
// no @opentelemetry/api type, so an app without that optional peer still type-checks (skipLibCheck off).

/** What a publisher reports about itself, read when the metrics are collected. */
export interface PublisherGauges {
  /** Messages waiting in the buffer (offline, behind the in-flight bound, or to be sent again). */
  buffered(): number
  bufferedBytes(): number
  /** Messages written and waiting for their confirm. */
  inflight(): number
}

/** One publish as telemetry follows it, from publish() to its settlement. */
export interface PublishObservation {
  readonly exchange: string
  readonly startedAt: number
}

/** @internal Made by publisherTelemetry() (telemetry.ts) when an OpenTelemetry SDK is registered. */
export interface PublisherTelemetryHooks {
  /** Reports the publisher's gauges and its connection's state until close(). */
  observe(gauges: PublisherGauges, connection: ManagedConnection): void
  start(exchange: string, routingKey: string): PublishObservation
  /** Accepted: the id and size on the span, its context in the headers (once: re-sends carry the same). */
  admitted(observation: PublishObservation, properties: Options.Publish, bytes: number): void
  /** Confirmed (error null) or rejected. */
  settled(observation: PublishObservation, error: Error | null): void
  close(): void
}
