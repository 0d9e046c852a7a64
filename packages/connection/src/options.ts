import type { Jitter } from './backoff.js'
import { deprecatedQueueFeature } from './deprecated-features.js'
import { AmqpDeprecatedFeatureError, AmqpInvalidOptionError } from './errors.js'
import { resolveSocket, type SocketSettings, type TlsOptions } from './socket-options.js'
import type { Topology } from './topology.js'

export interface ReconnectOptions {
  /** Ceiling of the first delay, ms. Default 100. */
  initialDelay?: number
  /** Cap on any delay, ms. Default 30 000. */
  maxDelay?: number
  /** Growth per failed attempt. Default 2. */
  factor?: number
  /** Default 'full'. */
  jitter?: Jitter
  /** Failed attempts in a row before giving up (status 'closed'). Default Infinity. */
  maxAttempts?: number
  /** A connection up this long (ms) forgets earlier failures. Default 2 000. */
  stableAfter?: number
}

export interface AmqpConnectionOptions {
  /** One URL, or several tried in turn (cluster failover). */
  url?: string | string[]
  /** Shown in the management UI; suffixed with ':publish' / ':consume'. */
  connectionName?: string
  /** Heartbeat interval in seconds; 0 disables. Default 10. */
  heartbeat?: number
  /** Largest frame in bytes, agreed at connect; at least 8192 (RabbitMQ 4.1's floor). Default: amqplib's 131072. */
  frameMax?: number
  reconnect?: ReconnectOptions
  /** true: register fails after connectTimeout if no broker answers. false: start degraded. Default true. */
  waitForConnection?: boolean
  /** ms; bounds each connection attempt and, with waitForConnection, the wait at register. Default 10 000. */
  connectTimeout?: number
  /** Asserted on every (re)connect, before any channel is handed out. */
  topology?: Topology
  /**
   * Channels (one per consumer) on one consume connection before another opens beside it; lowered to the
   * broker's channel_max when that is smaller. Default 1 000 (RabbitMQ's channel_max is 2 047).
   */
  channelsPerConnection?: number
  /** TLS options for amqps:// URLs (see TlsOptions). */
  tls?: TlsOptions
  /** 'external': SASL EXTERNAL, the login is taken from the client certificate (tls.cert). Default 'plain'. */
  sasl?: 'plain' | 'external'
  /** Other socket options for net.connect / tls.connect (noDelay, keepAlive, keepAliveDelay...). */
  socketOptions?: Record<string, unknown>
  /** Extra client properties the broker shows (the management UI); connection_name stays ours. */
  clientProperties?: Record<string, unknown>
}

export interface ResolvedOptions {
  urls: string[]
  connectionName: string
  heartbeat: number
  frameMax: number | undefined
  reconnect: Required<ReconnectOptions>
  waitForConnection: boolean
  connectTimeout: number
  topology: Topology
  channelsPerConnection: number
  /** What amqplib's connect() takes besides the URL: socket and TLS options, credentials, client properties. */
  socket: SocketSettings
}

const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672'
// RabbitMQ 4.1 refuses a smaller frame_max at connection tune; below it, a connection could never open.
const FRAME_MAX_FLOOR = 8192
const JITTERS: readonly Jitter[] = ['full', 'equal', 'none']

function invalid(field: string, problem: string): never {
  throw new AmqpInvalidOptionError(field, problem)
}

function number(field: string, value: unknown, fallback: number, min: number, allowInfinity = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || (!allowInfinity && !Number.isFinite(value))) {
    invalid(
      field,
      `expected a ${allowInfinity ? '' : 'finite '}number, got ${typeof value === 'number' ? value : typeof value}`
    )
  }
  if (value < min) invalid(field, `must be >= ${min}, got ${value}`)
  return value
}

function integer(field: string, value: unknown, fallback: number, min: number): number {
  const n = number(field, value, fallback, min)
  if (!Number.isInteger(n)) invalid(field, `expected an integer, got ${n}`)
  return n
}

function validUrl(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    invalid(field, 'expected a non-empty amqp:// or amqps:// URL string')
  let parsed: URL
  try {
    parsed = new URL(value)
  } catch {
    // The text may hold a password: say what is wrong, never echo the value.
    invalid(field, 'is not a valid URL')
  }
  const { protocol, searchParams } = parsed
  if (protocol !== 'amqp:' && protocol !== 'amqps:') invalid(field, `protocol must be amqp: or amqps:, got ${protocol}`)
  const frameMax = searchParams.get('frameMax')
  if (frameMax !== null && !(Number(frameMax) >= FRAME_MAX_FLOOR))
    invalid(field, `frameMax=${frameMax} in the query: must be at least ${FRAME_MAX_FLOOR} (RabbitMQ 4.1's floor)`)
  return value
}

function checkTopologyQueues(topology: Topology): void {
  for (const [i, queue] of (topology.queues ?? []).entries()) {
    const found = deprecatedQueueFeature(queue.name, queue.options)
    if (found) throw new AmqpDeprecatedFeatureError(`topology.queues[${i}]`, found.feature, found.problem)
  }
}

export function resolveOptions(options: AmqpConnectionOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) invalid('options', 'expected an object')
  const rawUrls = options.url ?? DEFAULT_URL
  const urls = Array.isArray(rawUrls) ? rawUrls.map((u, i) => validUrl(`url[${i}]`, u)) : [validUrl('url', rawUrls)]
  if (urls.length === 0) invalid('url', 'expected at least one URL')

  const connectionName = options.connectionName ?? 'fastify-amqp'
  if (typeof connectionName !== 'string' || connectionName.length === 0)
    invalid('connectionName', 'expected a non-empty string')

  const reconnect = options.reconnect ?? {}
  if (typeof reconnect !== 'object' || reconnect === null) invalid('reconnect', 'expected an object')
  const initialDelay = number('reconnect.initialDelay', reconnect.initialDelay, 100, 0)
  const maxDelay = number('reconnect.maxDelay', reconnect.maxDelay, 30_000, 0)
  if (maxDelay < initialDelay) invalid('reconnect.maxDelay', `must be >= reconnect.initialDelay (${initialDelay})`)
  const jitter = reconnect.jitter ?? 'full'
  if (!JITTERS.includes(jitter)) invalid('reconnect.jitter', `expected one of ${JITTERS.join(', ')}`)

  const waitForConnection = options.waitForConnection ?? true
  if (typeof waitForConnection !== 'boolean') invalid('waitForConnection', 'expected a boolean')

  const topology = options.topology ?? {}
  if (typeof topology !== 'object' || topology === null) invalid('topology', 'expected an object')
  for (const key of ['exchanges', 'queues', 'bindings'] as const) {
    if (topology[key] !== undefined && !Array.isArray(topology[key])) invalid(`topology.${key}`, 'expected an array')
  }
  checkTopologyQueues(topology)

  return {
    urls,
    connectionName,
    heartbeat: number('heartbeat', options.heartbeat, 10, 0),
    frameMax: options.frameMax === undefined ? undefined : number('frameMax', options.frameMax, 0, FRAME_MAX_FLOOR),
    reconnect: {
      initialDelay,
      maxDelay,
      factor: number('reconnect.factor', reconnect.factor, 2, 1),
      jitter,
      maxAttempts: number('reconnect.maxAttempts', reconnect.maxAttempts, Number.POSITIVE_INFINITY, 1, true),
      stableAfter: number('reconnect.stableAfter', reconnect.stableAfter, 2_000, 0),
    },
    waitForConnection,
    connectTimeout: number('connectTimeout', options.connectTimeout, 10_000, 1),
    topology,
    channelsPerConnection: integer('channelsPerConnection', options.channelsPerConnection, 1_000, 1),
    socket: resolveSocket(options, urls),
  }
}
