import type * as Api from '@opentelemetry/api'

/** The @opentelemetry/api module, when the application installed it. */
export type OtelApi = typeof Api
export type { Api }

/**
 * @opentelemetry/api is an optional peer: imported when a plugin registers, so an application without it
 * loads nothing and pays nothing. Null when it is not installed (or fails to load: telemetry never breaks
 * publishing). `specifier` is for tests.
 */
export async function loadOpenTelemetry(specifier = '@opentelemetry/api'): Promise<OtelApi | null> {
  try {
    const api = (await import(specifier)) as Partial<OtelApi>
    return typeof api.trace?.getTracerProvider === 'function' ? (api as OtelApi) : null
  } catch {
    return null
  }
}

/**
 * The tracer `name`, or null while no SDK registered a tracer provider: the API's own provider is then a proxy
 * without a delegate, and every span would be a no-op that still costs an object per message. Read once, when
 * the plugin registers: register the SDK before the plugins (as every OpenTelemetry instrumentation asks).
 */
export function registeredTracer(api: OtelApi, name: string, version?: string): Api.Tracer | null {
  const provider = api.trace.getTracerProvider()
  if (provider instanceof api.ProxyTracerProvider && provider.getDelegateTracer(name, version) === undefined)
    return null
  return provider.getTracer(name, version)
}

/** The meter `name`, or null while no SDK registered a meter provider (the API then hands out its no-op meter). */
export function registeredMeter(api: OtelApi, name: string, version?: string): Api.Meter | null {
  const meter = api.metrics.getMeter(name, version)
  return meter === api.createNoopMeter() ? null : meter
}

/** error.type for a failed operation: the library's error code, else the error's class name. */
export function errorType(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '_OTHER'
  try {
    const { code, name } = err as { code?: unknown; name?: unknown }
    if (typeof code === 'string') return code
    return typeof name === 'string' ? name : '_OTHER'
  } catch {
    return '_OTHER'
  }
}
