import createError from '@fastify/error'

// Every error this package throws, with a stable code. 503 = "the broker cannot take it now, retry later".
export const PublishNackError = createError<[string, string]>(
  'FST_AMQP_PUBLISHER_NACK',
  'The broker refused the message (basic.nack) published to exchange "%s" with routing key "%s"',
  503
)
export const UnroutableError = createError<[string, string]>(
  'FST_AMQP_PUBLISHER_UNROUTABLE',
  'No queue is bound for exchange "%s" with routing key "%s": the mandatory message was returned (check the bindings)',
  500
)
export const ConfirmTimeoutError = createError<[number]>(
  'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT',
  'The broker did not confirm the message within %d ms (it may still arrive: a retry can duplicate it)',
  503
)
type Coded = { code: string; statusCode?: number }
type NotStoredClass<Arg extends unknown[]> = createError.FastifyErrorConstructor<Coded & { mayHaveArrived: false }, Arg>

/** Marks an error class as "the message was not stored": `mayHaveArrived` is false on every instance. */
function notStored<Arg extends unknown[]>(
  ErrorClass: createError.FastifyErrorConstructor<Coded, Arg>
): NotStoredClass<Arg> {
  Object.defineProperty(ErrorClass.prototype, 'mayHaveArrived', { value: false, enumerable: true })
  return ErrorClass as NotStoredClass<Arg>
}

/**
 * Says on a rejection whether the message may still arrive (set per rejection: the same code can
 * mean either, e.g. a confirm timeout of a message that was or was not written).
 */
export function withArrival<E extends Error>(error: E, mayHaveArrived: boolean): E & { mayHaveArrived: boolean } {
  Object.defineProperty(error, 'mayHaveArrived', { value: mayHaveArrived, enumerable: true, configurable: true })
  return error as E & { mayHaveArrived: boolean }
}

export const BufferFullError = notStored(
  createError<[string]>(
    'FST_AMQP_PUBLISHER_BUFFER_FULL',
    'The publish buffer is full (%s): the broker is unreachable or slower than the publishers',
    503
  )
)
export const PublisherClosedError = createError<[string]>(
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
  createError<[number, number, string]>(
    'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE',
    'The message body is %d bytes, over the limit of %d bytes (%s): it was not stored',
    413
  )
)
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

/** Codes that mean "the broker cannot take this message now": HTTP 503 with Retry-After. */
export const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'FST_AMQP_PUBLISHER_NACK',
  'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT',
  'FST_AMQP_PUBLISHER_BUFFER_FULL',
  'FST_AMQP_PUBLISHER_CLOSED',
  'FST_AMQP_CONNECTION_CLOSED',
])

/** True for the errors a client should retry later (the broker is down, blocked, full or closing). */
export function isUnavailableError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && UNAVAILABLE_CODES.has((err as { code?: string }).code ?? '')
}
export const PublisherAlreadyRegisteredError = createError(
  'FST_AMQP_PUBLISHER_ALREADY_REGISTERED',
  '@fastify-amqp/publisher is already registered on this instance (app.publisher exists)',
  500
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

// Stack frames kept on a buffer-full error: enough to find the caller.
const SHED_STACK_FRAMES = 4

/** FST_AMQP_PUBLISHER_BUFFER_FULL, cheap: refusals come by the thousand while the broker is away. */
export function shedError(bound: string): Error {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = SHED_STACK_FRAMES
  const error = new BufferFullError(bound)
  Error.stackTraceLimit = limit
  return error
}

/** An aborted publish: coded, with the signal's reason as its cause (one signal may abort many publishes). */
export function abortedError(signal: AbortSignal): Error {
  return new PublishAbortedError({ cause: signal.reason })
}
