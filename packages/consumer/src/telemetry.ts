import type { ManagedConnection } from '@fastify-amqp/connection'
import {
  type Api,
  type OtelApi,
  observeConnection,
  registeredMeter,
  registeredTracer,
} from '@fastify-amqp/publisher/telemetry'
import type { Delivery } from './delivery.js'
import { ConsumeMetrics } from './metrics.js'
import { DeliveryTracing, type TraceContextMode } from './tracing.js'

const SCOPE = '@fastify-amqp/consumer'

/** One delivery as telemetry follows it. */
export interface DeliveryObservation {
  span: Api.Span | null
  /** The context the handler runs in: the span active, so its own spans and publishes join the trace. */
  context: Api.Context | null
  attributes: Api.Attributes | null
  startedAt: number
}

/**
 * Traces and metrics of the consumers through @opentelemetry/api, for what an SDK registered. Null (see
 * consumerTelemetry) when there is neither a tracer nor a meter provider: nothing is done per delivery.
 */
export class ConsumerTelemetry {
  readonly #api: OtelApi
  readonly #tracing: DeliveryTracing | null
  readonly #metrics: ConsumeMetrics | null
  readonly #meter: Api.Meter | null
  #stop: (() => void)[] = []

  constructor(api: OtelApi, tracer: Api.Tracer | null, meter: Api.Meter | null, mode: TraceContextMode) {
    this.#api = api
    this.#tracing = tracer === null ? null : new DeliveryTracing(api, tracer, mode)
    this.#meter = meter
    this.#metrics = meter === null ? null : new ConsumeMetrics(meter)
  }

  /** Reports the consume connection's state and reconnects until close(). */
  observe(connection: ManagedConnection): void {
    if (this.#meter !== null) this.#stop.push(observeConnection(this.#meter, connection, 'consume'))
  }

  /**
   * begin() and end() never throw: an SDK that broke its API's promise must not stand between a delivery and its
   * settlement (the slot it holds, the ack). The delivery is then processed untraced.
   */
  begin(queue: string, delivery: Delivery): DeliveryObservation {
    const startedAt = performance.now()
    try {
      const traced = this.#tracing?.start(queue, delivery) ?? null
      const attributes = this.#metrics?.attributes(queue, delivery) ?? null
      if (attributes !== null) this.#metrics?.started(attributes)
      return { span: traced?.span ?? null, context: traced?.context ?? null, attributes, startedAt }
    } catch {
      return { span: null, context: null, attributes: null, startedAt }
    }
  }

  /** Runs `fn` (the delivery's processing) inside the span's context. */
  run<T>(observation: DeliveryObservation, fn: () => Promise<T>): Promise<T> {
    return observation.context === null ? fn() : this.#api.context.with(observation.context, fn)
  }

  end(observation: DeliveryObservation, delivery: Delivery): void {
    try {
      if (observation.span !== null) this.#tracing?.end(observation.span, delivery)
      if (observation.attributes !== null)
        this.#metrics?.ended(observation.attributes, delivery, (performance.now() - observation.startedAt) / 1000)
    } catch {
      // See begin(): never in the way of the delivery.
    }
  }

  close(): void {
    for (const stop of this.#stop) stop()
    this.#stop = []
  }
}

/** Telemetry for the consumers, or null when @opentelemetry/api is absent or no SDK registered a provider. */
export function consumerTelemetry(api: OtelApi | null, mode: TraceContextMode): ConsumerTelemetry | null {
  if (api === null) return null
  const tracer = registeredTracer(api, SCOPE)
  const meter = registeredMeter(api, SCOPE)
  return tracer === null && meter === null ? null : new ConsumerTelemetry(api, tracer, meter, mode)
}
