import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import type { FastifyPluginAsync } from 'fastify'

/** GET /metrics in Prometheus' text format: messaging.* and fastify_amqp.* (see docs/OBSERVABILITY.md). */
export const metricsRoutes: FastifyPluginAsync<{ exporter: PrometheusExporter }> = async (app, { exporter }) => {
  app.get('/metrics', (request, reply) => {
    // The exporter writes the response itself.
    reply.hijack()
    exporter.getMetricsRequestHandler(request.raw, reply.raw)
  })
}
