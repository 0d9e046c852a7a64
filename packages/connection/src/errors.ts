import createError from '@fastify/error'

// Every error this package throws, with a stable code FST_AMQP_CONNECTION_<WHAT>. Messages never include credentials.
// `instanceof` matches by code (@fastify/error), so it holds across two installed copies of this package.
export const AmqpInvalidOptionError = createError<[string, string]>(
  'FST_AMQP_CONNECTION_INVALID_OPTION',
  'Invalid @fastify-amqp/connection option "%s": %s',
  500,
  TypeError
)
export const AmqpAlreadyRegisteredError = createError(
  'FST_AMQP_CONNECTION_ALREADY_REGISTERED',
  '@fastify-amqp/connection is already registered on this instance (app.amqp exists)'
)
export const AmqpConnectTimeoutError = createError<[number, string]>(
  'FST_AMQP_CONNECTION_CONNECT_TIMEOUT',
  'Could not connect to RabbitMQ within %d ms (last error: %s)',
  503
)
export const AmqpConnectFailedError = createError<[string]>(
  'FST_AMQP_CONNECTION_CONNECT_FAILED',
  'Could not connect to RabbitMQ: %s',
  503
)
export const AmqpClosedError = createError('FST_AMQP_CONNECTION_CLOSED', 'The AMQP connection is closed', 503)
export const AmqpTopologyError = createError<[string, string, { cause: unknown }?]>(
  'FST_AMQP_CONNECTION_TOPOLOGY',
  'Could not declare %s: %s',
  500
)
// Package-neutral wording: the consumer and publisher packages throw it for their own options too.
export const AmqpDeprecatedFeatureError = createError<[string, string, string]>(
  'FST_AMQP_CONNECTION_DEPRECATED_FEATURE',
  'Option "%s" asks for %s, which RabbitMQ 4.x deprecates or denies: %s',
  500,
  TypeError
)
export const AmqpFeatureDeniedError = createError<[string, string, { cause: unknown }?]>(
  'FST_AMQP_CONNECTION_FEATURE_DENIED',
  'RabbitMQ closed the connection: it denies the deprecated feature %s, asked for %s',
  500
)
export const AmqpTlsError = createError<[string]>(
  'FST_AMQP_CONNECTION_TLS',
  'TLS with the broker failed before any connection was made: %s (check tls.ca, tls.cert, tls.servername)',
  503
)
export const AmqpUpdateSecretError = createError<[string, string]>(
  'FST_AMQP_CONNECTION_UPDATE_SECRET',
  'The %s connection could not take the new secret: %s',
  503
)
