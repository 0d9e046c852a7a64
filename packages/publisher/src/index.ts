import type { FastifyInstance, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'
import {
  isUnavailableError,
  PublisherAlreadyRegisteredError,
  PublisherDependencyError,
  PublisherInvalidOptionError,
} from './errors.js'
import type { PublisherOptions } from './options.js'
import { loadOpenTelemetry } from './otel.js'
import { Publisher, type PublishOptions, type PublishReceipt } from './publisher.js'
import type { RequestOptions } from './requester.js'
import type { BodyFor } from './schemas.js'
import { publisherTelemetry } from './telemetry.js'

export interface PublisherPluginOptions extends PublisherOptions {
  /** Seconds sent in Retry-After when reply.publish fails because the broker is unavailable. Default 5. */
  retryAfter?: number
}

/** reply.publish: publish with the request's id as correlationId (or in an `x-request-id` header when the caller sets one). */
export type ReplyPublish = <E extends string, R extends string>(
  exchange: E,
  routingKey: R,
  body: BodyFor<E, R>,
  options?: PublishOptions
) => Promise<PublishReceipt>

/**
 * reply.rpc: publisher.request with the request's id in an `x-request-id` header (the correlationId is the RPC's).
 * Not `reply.request`, which is Fastify's own: the request the reply answers.
 */
export type ReplyRpc = <T = unknown, E extends string = string, R extends string = string>(
  exchange: E,
  routingKey: R,
  body: BodyFor<E, R>,
  options?: RequestOptions
) => Promise<T>

declare module 'fastify' {
  interface FastifyInstance {
    publisher: Publisher
  }
  interface FastifyReply {
    publish: ReplyPublish
    rpc: ReplyRpc
  }
}

async function publisherPlugin(app: FastifyInstance, options: PublisherPluginOptions): Promise<void> {
  const retryAfter = String(options.retryAfter ?? 5)
  if (!/^\d+$/.test(retryAfter)) {
    throw new PublisherInvalidOptionError('retryAfter', 'expected a whole number of seconds')
  }
  if (!app.hasDecorator('amqp')) throw new PublisherDependencyError()
  if (app.hasDecorator('publisher')) throw new PublisherAlreadyRegisteredError()

  // Traces and metrics when the app has @opentelemetry/api and registered an SDK (before this plugin); else none.
  const telemetry = publisherTelemetry(await loadOpenTelemetry())
  const publisher = new Publisher(app.amqp, options, app.log.child({ plugin: '@fastify-amqp/publisher' }), telemetry)
  // Runs before the connection plugin's onClose (registered earlier), so confirms can still arrive.
  app.addHook('onClose', async () => {
    await publisher.close()
  })

  app.decorate('publisher', publisher)
  app.decorateReply('publish', function publish(
    this: FastifyReply,
    exchange: string,
    routingKey: string,
    body: unknown,
    publishOptions?: PublishOptions
  ): Promise<PublishReceipt> {
    const withRequest = withRequestId(String(this.request.id), publishOptions)
    return publisher.publish(exchange, routingKey, body, withRequest).catch((err: unknown) => {
      // The error carries statusCode 503; Retry-After tells the client when to come back.
      if (isUnavailableError(err) && !this.sent) this.header('retry-after', retryAfter)
      throw err
    })
  } as ReplyPublish)
  app.decorateReply('rpc', function rpc(
    this: FastifyReply,
    exchange: string,
    routingKey: string,
    body: unknown,
    requestOptions?: RequestOptions
  ): Promise<unknown> {
    const headers = { 'x-request-id': String(this.request.id), ...requestOptions?.headers }
    return publisher.request(exchange, routingKey, body, { ...requestOptions, headers }).catch((err: unknown) => {
      if (isUnavailableError(err) && !this.sent) this.header('retry-after', retryAfter)
      throw err
    })
  } as ReplyRpc)
}

// correlationId is an AMQP short string: 255 bytes at most.
const MAX_CORRELATION_ID = 255

/**
 * The request id is the correlationId; only when the caller brings its own does it travel in an
 * `x-request-id` header (headers cost the broker: see message-id.ts on the 64-byte properties). An id
 * too long for correlationId (a client's own request-id header) is cut to fit there and sent whole
 * in the header, so neither the publish nor the link to the request is lost.
 */
function withRequestId(id: string, options: PublishOptions | undefined): PublishOptions {
  const fits = id.length <= MAX_CORRELATION_ID / 3 || Buffer.byteLength(id) <= MAX_CORRELATION_ID
  if (fits && options === undefined) return { correlationId: id }
  if (fits && options?.correlationId === undefined) return { ...options, correlationId: id }
  const withHeader = { ...options, headers: { 'x-request-id': id, ...options?.headers } }
  if (options?.correlationId === undefined) withHeader.correlationId = truncateUtf8(id, MAX_CORRELATION_ID)
  return withHeader
}

/** The longest prefix of `text` that is at most `bytes` in UTF-8, never splitting a character. */
function truncateUtf8(text: string, bytes: number): string {
  const encoded = Buffer.from(text)
  let end = bytes
  // Back off continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((encoded[end] as number) & 0xc0) === 0x80) end -= 1
  return encoded.subarray(0, end).toString()
}

export const publisher = fp(publisherPlugin, {
  fastify: '5.x',
  name: '@fastify-amqp/publisher',
  decorators: { fastify: ['amqp'] },
  dependencies: ['@fastify-amqp/connection'],
})
export default publisher

export { type CompiledSchema, compileSchema, type MessageSchema, type StaticOf } from './compile-schema.js'
export * from './errors.js'
export type { PublisherOptions, ResolvedPublisherOptions } from './options.js'
export { Publisher, type PublishOptions, type PublishReceipt } from './publisher.js'
export { ERROR_REPLY_TYPE, type RequestOptions } from './requester.js'
export type { BodyFor, PublisherSchemas, SchemaBodies } from './schemas.js'
