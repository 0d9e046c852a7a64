// @fastify-amqp/publisher/telemetry: what the consumer shares with the publisher to trace and meter its own side.
export { observeConnection } from './connection-metrics.js'
export { DURATION_BUCKETS } from './metrics.js'
export { type Api, errorType, loadOpenTelemetry, type OtelApi, registeredMeter, registeredTracer } from './otel.js'
export { type PublisherTelemetry, publisherTelemetry } from './telemetry.js'
