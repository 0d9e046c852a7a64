// An OpenTelemetry SDK as a production app registers one: spans batched to an exporter off the hot path, metrics
// read every 10 s, the W3C propagator, an AsyncLocalStorage context manager. Its exporters drop what they get
// (the bench measures the library's cost, not a collector's). Registered before the plugins, which look for it
// when they register; unregistered when the contender closes.
import { context, metrics, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core'
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'

const dropping = {
  export: (_items, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => {},
  forceFlush: async () => {},
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
}

/** Returns the function that unregisters it. */
export function registerSdk() {
  const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: dropping })] })
  const reader = new PeriodicExportingMetricReader({ exporter: dropping, exportIntervalMillis: 10_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(tracerProvider)
  metrics.setGlobalMeterProvider(meterProvider)
  return async () => {
    trace.disable()
    propagation.disable()
    context.disable()
    metrics.disable()
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()])
  }
}
