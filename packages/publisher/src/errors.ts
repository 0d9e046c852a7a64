import createError from '@fastify/error'
import { AmqpClosedError } from '@fastify-amqp/connection'

// Every error this package throws, with a stable code FST_AMQP_PUBLISHER_<WHAT>. 503 = "the broker cannot take it
// now, retry later". `instanceof` matches by code (@fastify/error), so it holds across two installed copies.
// A code another package checks is typed as its literal (the consumer compares against it through `import type`).

type Coded = { code: string; statusCode?: number }
type NotStored<E extends Coded, Arg extends unknown[]> = createError.FastifyErrorConstructor<
  E & { mayHaveArrived: false },
  Arg
>

/** Marks an error class as "the message was not stored": `mayHaveArrived` is false on every instance. */
function notStored<E extends Coded, Arg extends unknown[]>(
  ErrorClass: createError.FastifyErrorConstructor<E, Arg>
): NotStored<E, Arg> {
  Object.defineProperty(ErrorClass.prototype, 'mayHaveArrived', { value: false, enumerable: true })
  return ErrorClass as NotStored<E, Arg>
}

// Rejections of a publish.
export const PublishNackError = createError<[string, string]>(
  'FST_AMQP_PUBLISHER_NACK',
  'The broker refused the message (basic.nack) published to exchange "%s" with routing key "%s"',
  503
)
export const UnroutableError = createError<'FST_AMQP_PUBLISHER_UNROUTABLE', 500, [string, string]>(
  'FST_AMQP_PUBLISHER_UNROUTABLE',
  'No queue is bound for exchange "%s" with routing key "%s": the mandatory message was returned (check the bindings)',
  500
)
export const ConfirmTimeoutError = createError<[number]>(
  'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT',
  'The broker did not confirm the message within %d ms (it may still arrive: a retry can duplicate it)',
  503
)
export const BufferFullError = notStored(
  createError<[string]>(
    'FST_AMQP_PUBLISHER_BUFFER_FULL',
    'The publish buffer is full (%s): the broker is unreachable or slower than the publishers',
    503
  )
)
export const PublisherClosedError = createError<'FST_AMQP_PUBLISHER_CLOSED', 503, [string]>(
  'FST_AMQP_PUBLISHER_CLOSED',
  'The publisher is closed: %s',
  503
)
export const InvalidMessageError = notStored(
  createError<[string, string]>('FST_AMQP_PUBLISHER_INVALID_MESSAGE', 'Invalid message body for "%s": %s', 400)
)
export const InvalidPropertiesError = notStored(
  createError<[string, string]>(
    'FST_AMQP_PUBLISHER_INVALID_PROPERTIES',
    'Invalid publish property "%s": %s; nothing was sent',
    500
  )
)
export const MessageTooLargeError = notStored(
  createError<'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE', 413, [number, number, string]>(
    'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE',
    'The message body is %d bytes, over the limit of %d bytes (%s): it was not stored',
    413
  )
)
export const ExchangeNotFoundError = createError<[string, string]>(
  'FST_AMQP_PUBLISHER_EXCHANGE_NOT_FOUND',
  'Exchange "%s" does not exist (publishing with routing key "%s"): declare it before publishing',
  500
)
export const AccessRefusedError = createError<[string, string]>(
  'FST_AMQP_PUBLISHER_ACCESS_REFUSED',
  'The broker refused a publish to exchange "%s" (%s)',
  500
)
export const PublishRefusedError = createError<[number, string]>(
  'FST_AMQP_PUBLISHER_REFUSED',
  'The broker closed the channel over this message (%d: %s)',
  500
)
export const PublishAbortedError = createError<[{ cause: unknown }]>(
  'FST_AMQP_PUBLISHER_ABORTED',
  "The publish was aborted by its signal (the signal's reason is the cause)",
  500
)

// Registration and options.
export const PublisherDependencyError = createError(
  'FST_AMQP_PUBLISHER_DEPENDENCY',
  '@fastify-amqp/publisher needs @fastify-amqp/connection: register it first (app.amqp is missing)',
  500
)
export const PublisherInvalidOptionError = createError<[string, string]>(
  'FST_AMQP_PUBLISHER_INVALID_OPTION',
  'Invalid @fastify-amqp/publisher option "%s": %s',
  500,
  TypeError
)
export const PublisherAlreadyRegisteredError = createError(
  'FST_AMQP_PUBLISHER_ALREADY_REGISTERED',
  '@fastify-amqp/publisher is already registered on this instance (app.publisher exists)',
  500
)

/** The errors that mean "the broker cannot take this message now": HTTP 503 with Retry-After. */
const UNAVAILABLE = [PublishNackError, ConfirmTimeoutError, BufferFullError, PublisherClosedError, AmqpClosedError]

/** True for the errors a client should retry later (the broker is down, blocked, full or closing). */
export function isUnavailableError(err: unknown): boolean {
  return UNAVAILABLE.some((ErrorClass) => err instanceof ErrorClass)
}

// Rejections of a request (publisher.request, reply.request): each says whether the request may have been handled.
export const RequestTimeoutError = createError<[number]>(
  'FST_AMQP_PUBLISHER_REQUEST_TIMEOUT',
  'No reply within %d ms; a late reply is dropped (the request may still be handled)',
  504
)
export const RequestLostError = createError<[string]>(
  'FST_AMQP_PUBLISHER_REQUEST_LOST',
  'The reply channel closed before the reply came (%s); a direct reply-to answer cannot survive it',
  503
)
/** The responder's handler failed: `remoteCode` is its error's code, when it had one. */
export const RemoteError = createError<[string]>('FST_AMQP_PUBLISHER_REMOTE_ERROR', 'The responder failed: %s', 502)
