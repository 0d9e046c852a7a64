import { metrics } from '@opentelemetry/api'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'

/**
 * The OpenTelemetry metrics of the three plugins, for Prometheus to scrape at GET /metrics. Registered once per
 * process and before the plugins register: each looks for a meter provider then, and without one it counts nothing.
 * The exporter's own HTTP server stays off; the app answers /metrics with its handler.
 */
export function startMetrics(): PrometheusExporter {
  const exporter = new PrometheusExporter({ preventServerStart: true })
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }))
  return exporter
}
