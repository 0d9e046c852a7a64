import type { FastifyInstance, FastifySchema } from 'fastify'
import { buildAsyncApi, type DescribedConsumer } from './asyncapi.js'
import type { AsyncApiDocument, AsyncApiOptions } from './asyncapi-types.js'
import { ConsumerInvalidOptionError } from './errors.js'

function invalid(field: string, problem: string): never {
  throw new ConsumerInvalidOptionError(`asyncapi.${field}`, problem)
}

function resolveAsyncApiOptions(value: unknown): AsyncApiOptions {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null) invalid('', 'expected an object')
  const options = value as AsyncApiOptions
  if (options.route !== undefined && (typeof options.route !== 'string' || !options.route.startsWith('/')))
    invalid('route', "expected a path starting with '/'")
  for (const field of ['title', 'version', 'description'] as const) {
    const text = options.info?.[field]
    if (text !== undefined && typeof text !== 'string') invalid(`info.${field}`, 'expected a string')
  }
  if (options.servers !== undefined && (typeof options.servers !== 'object' || options.servers === null))
    invalid('servers', 'expected an object of AsyncAPI server objects')
  return options
}

/**
 * app.asyncapi(): the document of the consumers declared so far and of app.publisher's schemas (read at each call,
 * so the publisher plugin may register after this one). With `route`, GET serves it.
 */
export function asyncapiOf(
  app: FastifyInstance,
  value: unknown,
  consumers: readonly DescribedConsumer[]
): () => AsyncApiDocument {
  const options = resolveAsyncApiOptions(value)
  const asyncapi = (): AsyncApiDocument => {
    const publisher = app.hasDecorator('publisher')
      ? (app as unknown as { publisher: { schemas?: Readonly<Record<string, object>> } }).publisher
      : null
    return buildAsyncApi({ consumers, publisherSchemas: publisher?.schemas ?? {} }, options)
  }
  // hide: keeps it out of an OpenAPI document @fastify/swagger builds of the HTTP routes (a key it adds to FastifySchema).
  if (options.route !== undefined)
    app.get(options.route, { schema: { hide: true } as FastifySchema }, async () => asyncapi())
  return asyncapi
}
