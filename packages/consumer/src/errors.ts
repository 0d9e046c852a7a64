import createError from '@fastify/error'

// Every error this package throws, with a stable code FST_AMQP_CONSUMER_<WHAT>. `instanceof` on a @fastify/error
// class matches by code, so it holds across two installed copies of this package.
export const ConsumerInvalidOptionError = createError<[string, string]>(
  'FST_AMQP_CONSUMER_INVALID_OPTION',
  'Invalid @fastify-amqp/consumer option "%s": %s',
  500,
  TypeError
)
export const ConsumerAlreadyRegisteredError = createError(
  'FST_AMQP_CONSUMER_ALREADY_REGISTERED',
  '@fastify-amqp/consumer is already registered on this instance (app.consume exists)'
)
export const ConsumerDuplicateQueueError = createError<[string]>(
  'FST_AMQP_CONSUMER_DUPLICATE_QUEUE',
  'A consumer for queue "%s" is already declared; one handler per queue'
)
export const ConsumerAlreadyStartedError = createError<[string]>(
  'FST_AMQP_CONSUMER_ALREADY_STARTED',
  'Cannot declare a consumer for queue "%s": the application is already started (declare consumers before ready)'
)
export const ConsumerUnknownQueueError = createError<[string]>(
  'FST_AMQP_CONSUMER_UNKNOWN_QUEUE',
  'No consumer is declared for queue "%s"',
  404
)
/** Aborts `message.signal` when the channel that delivered the message is gone: its ack would be void. */
export const ConsumerChannelLostError = createError<[string]>(
  'FST_AMQP_CONSUMER_CHANNEL_LOST',
  'The channel that delivered this message closed (%s); the broker will redeliver it',
  503
)
/**
 * Aborts `message.signal` when the broker cancels the consumer that delivered the message (4.3 does on a
 * quorum queue's consumer timeout): the broker has taken the message back, so its ack would be void.
 */
export const ConsumerCancelledError = createError(
  'FST_AMQP_CONSUMER_CANCELLED',
  'The broker cancelled the consumer that delivered this message (consumer timeout, queue deleted, or node down); it has taken the message back',
  503
)
/** Aborts `message.signal` when the handler runs past handlerTimeout; the message is then retried or dead-lettered. */
export const ConsumerHandlerTimeoutError = createError<[number]>(
  'FST_AMQP_CONSUMER_HANDLER_TIMEOUT',
  'The handler did not finish within handlerTimeout (%d ms); the message is retried or dead-lettered as a failure',
  503
)
/** Aborts `message.signal` when app.close() stops waiting for the handler. */
export const ConsumerDrainTimeoutError = createError<[number]>(
  'FST_AMQP_CONSUMER_DRAIN_TIMEOUT',
  'The handler did not finish within drainTimeout (%d ms); the message is left to the broker to redeliver',
  503
)

/**
 * Thrown by a handler, skips the remaining retries: the message goes straight to
 * the dead-letter queue. Any error with `retryable === false` does the same.
 * A plain class, not @fastify/error: its message is the handler's own text, not a template.
 */
export class NonRetryableError extends Error {
  readonly code = 'FST_AMQP_CONSUMER_NON_RETRYABLE'
  readonly retryable = false
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'NonRetryableError'
  }
}
