import { randomUUID } from 'node:crypto'
import { AmqpDeprecatedFeatureError, deprecatedQueueFeature } from '@fastify-amqp/connection'
import { ConsumerInvalidOptionError } from './errors.js'
import type {
  BindingOptions,
  ConsumeOptions,
  ConsumerPluginOptions,
  ExclusiveConsumeOptions,
  QueueOptions,
  RetryDelay,
  RetryOptions,
} from './types.js'

export interface ResolvedPluginOptions {
  prefetch: number
  concurrency: number | undefined
  handlerTimeout: number
  drainTimeout: number
  /** drainTimeout was given (not the default): a warning when it does not fit in Fastify's pluginTimeout. */
  drainTimeoutSet: boolean
  startTimeout: number
  /** startTimeout was given (not the default): a warning when it does not fit in Fastify's pluginTimeout. */
  startTimeoutSet: boolean
  maxDeliveries: number
  maxBodyBytes: number
  deadLetter: boolean
  retry: ResolvedRetry
  publisher: NonNullable<ConsumerPluginOptions['publisher']>
  traceContext: 'parent' | 'link'
}

export interface ResolvedRetry {
  attempts: number
  delay: number | Required<RetryDelay>
}

/** Everything a consumer needs, checked once at declaration. */
export interface ResolvedConsumer {
  queue: string
  queueOptions: QueueOptions
  queueArguments: Record<string, unknown>
  bindings: Array<BindingOptions & { routingKey: string }>
  prefetch: number
  concurrency: number
  /** ms a handler may run before it counts as failed; 0 = no limit. */
  handlerTimeout: number
  /** Deliveries whose handler never finished before the message is dead-lettered unrun; 0 = no limit. */
  maxDeliveries: number
  retry: ResolvedRetry
  /** Delay before try n+1, for n = 1 .. attempts-1. */
  delays: number[]
  deadLetter: boolean
  deadLetterQueue: string | null
  /** The delay queues and the DLQ with their arguments: what setup declares, and re-declares when one is gone. */
  sideQueues: ReadonlyMap<string, Record<string, unknown>>
  maxBodyBytes: number
  /** The queue is this instance's own: exclusive, auto-deleted, not durable (see ExclusiveConsumeOptions). */
  exclusiveQueue: boolean
  /** basic.consume: exclusive and x-priority, and the tag prefix of each subscription (null: the broker names it). */
  subscription: { exclusive: boolean; priority: number | undefined; tagPrefix: string | null }
}

// Under the broker's consumer_timeout (30 min), so on a quorum queue ours fires first and the message is
// retried under its attempt count: 4.3's cancel requeues it uncounted, and one that always hangs would loop.
const DEFAULT_HANDLER_TIMEOUT = 25 * 60_000
const DEFAULT_DRAIN_TIMEOUT = 10_000
// Long enough for thousands of consumers on a quiet broker, and within pluginTimeout's default of 10 s.
const DEFAULT_START_TIMEOUT = 5_000
// Enough to dead-letter a crash loop soon, few enough that a message caught in several channel losses in a row
// (a flapping network) is not taken for one; under a quorum queue's default delivery limit on 4.x (20).
const DEFAULT_MAX_DELIVERIES = 10
// setTimeout's limit: longer delays fire at once.
const MAX_TIMER = 2_147_483_647
const DEFAULT_RETRY: ResolvedRetry = { attempts: 5, delay: { initial: 1_000, factor: 2, max: 60_000 } }
const EXCHANGE_TYPES = ['direct', 'topic', 'fanout', 'headers']

function invalid(field: string, problem: string): never {
  throw new ConsumerInvalidOptionError(field, problem)
}

function integer(field: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value)) invalid(field, `expected an integer, got ${String(value)}`)
  if (value < min) invalid(field, `must be >= ${min}, got ${value}`)
  if (value > max) invalid(field, `must be <= ${max}, got ${value}`)
  return value
}

function boolean(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') invalid(field, 'expected a boolean')
  return value
}

function traceContext(value: unknown): 'parent' | 'link' {
  if (value === undefined) return 'parent'
  if (value !== 'parent' && value !== 'link')
    invalid('traceContext', `expected 'parent' or 'link', got ${String(value)}`)
  return value
}

function object(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(field, 'expected an object')
  return value as Record<string, unknown>
}

function resolveRetry(field: string, value: RetryOptions | false | undefined, base: ResolvedRetry): ResolvedRetry {
  if (value === undefined) return base
  if (value === false) return { attempts: 1, delay: 0 }
  object(field, value)
  const attempts = integer(`${field}.attempts`, value.attempts, base.attempts, 1)
  const delay = value.delay ?? base.delay
  if (typeof delay === 'number') return { attempts, delay: integer(`${field}.delay`, delay, 0, 0) }
  object(`${field}.delay`, delay)
  const initial = integer(`${field}.delay.initial`, delay.initial, Number.NaN, 0)
  if (Number.isNaN(initial)) invalid(`${field}.delay.initial`, 'is required')
  const factor = delay.factor ?? 2
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1)
    invalid(`${field}.delay.factor`, 'expected a number >= 1')
  const max = integer(`${field}.delay.max`, delay.max, 60_000, initial)
  return { attempts, delay: { initial, factor, max } }
}

/** Delay (ms) after the given failed try (1-based). */
export function retryDelay(retry: ResolvedRetry, attempt: number): number {
  if (typeof retry.delay === 'number') return retry.delay
  const { initial, factor, max } = retry.delay
  return Math.min(max, Math.round(initial * factor ** (attempt - 1)))
}

export function resolvePluginOptions(options: ConsumerPluginOptions = {}): ResolvedPluginOptions {
  object('options', options)
  const prefetch = integer('prefetch', options.prefetch, 50, 1)
  const concurrency = options.concurrency === undefined ? undefined : integer('concurrency', options.concurrency, 1, 1)
  const publisher = options.publisher ?? {}
  object('publisher', publisher)
  return {
    prefetch,
    concurrency,
    handlerTimeout: integer('handlerTimeout', options.handlerTimeout, DEFAULT_HANDLER_TIMEOUT, 0, MAX_TIMER),
    drainTimeout: integer('drainTimeout', options.drainTimeout, DEFAULT_DRAIN_TIMEOUT, 0),
    drainTimeoutSet: options.drainTimeout !== undefined,
    startTimeout: integer('startTimeout', options.startTimeout, DEFAULT_START_TIMEOUT, 0),
    startTimeoutSet: options.startTimeout !== undefined,
    maxDeliveries: integer('maxDeliveries', options.maxDeliveries, DEFAULT_MAX_DELIVERIES, 0),
    maxBodyBytes: integer('maxBodyBytes', options.maxBodyBytes, 1024 * 1024, 0),
    deadLetter: boolean('deadLetter', options.deadLetter, true),
    retry: resolveRetry('retry', options.retry, DEFAULT_RETRY),
    publisher,
    traceContext: traceContext(options.traceContext),
  }
}

// Arguments with which the broker itself removes messages from a queue.
const BROKER_DROPS = ['x-delivery-limit', 'x-message-ttl', 'x-max-length', 'x-max-length-bytes']

/**
 * True when the broker may remove messages from a queue declared with these arguments: a delivery limit,
 * TTL or max length, or a quorum queue at all, since 4.0 gives every quorum queue a delivery limit (20).
 */
function brokerMayDrop(args: Record<string, unknown>): boolean {
  return args['x-queue-type'] === 'quorum' || BROKER_DROPS.some((key) => args[key] !== undefined)
}

/**
 * The x-arguments a consumer declares its queue with (pass the same ones when the queue is also in
 * the connection's topology, or the broker answers 406). Only what was asked for, so an existing
 * plain durable queue matches as it is. When the broker may drop messages from the queue (a quorum
 * queue, a delivery limit, TTL, max length) and dead-lettering is on, the queue also dead-letters to
 * `<queue>.dlq`: the broker then moves what it would drop there instead of losing it.
 */
export function consumerQueueArguments(
  queue: string,
  options: QueueOptions = {},
  deadLetter = true
): Record<string, unknown> {
  const args: Record<string, unknown> = { ...(options.arguments ?? {}) }
  if (options.type === 'quorum') args['x-queue-type'] = 'quorum'
  if (options.deliveryLimit !== undefined) args['x-delivery-limit'] = options.deliveryLimit
  if (options.messageTtl !== undefined) args['x-message-ttl'] = options.messageTtl
  if (options.maxLength !== undefined) args['x-max-length'] = options.maxLength
  if (options.singleActiveConsumer) args['x-single-active-consumer'] = true
  if (options.maxPriority !== undefined) args['x-max-priority'] = options.maxPriority
  if (deadLetter && brokerMayDrop(args) && args['x-dead-letter-exchange'] === undefined) {
    args['x-dead-letter-exchange'] = ''
    args['x-dead-letter-routing-key'] = deadLetterQueueName(queue)
  }
  return args
}

/**
 * A warning for a queue the broker may drop from with nowhere to dead-letter to (deadLetter: false and
 * no x-dead-letter-exchange of its own), or null: the user chose no DLQ, but may not know the broker
 * drops too (a quorum queue's default delivery limit on 4.x).
 */
export function brokerDropWarning(def: Pick<ResolvedConsumer, 'queue' | 'queueArguments'>): string | null {
  const args = def.queueArguments
  if (!brokerMayDrop(args) || args['x-dead-letter-exchange'] !== undefined) return null
  const limits = BROKER_DROPS.filter((key) => args[key] !== undefined)
  if (args['x-queue-type'] === 'quorum' && args['x-delivery-limit'] === undefined)
    limits.unshift("a quorum queue's default delivery limit (20 on RabbitMQ 4.x)")
  return `amqp consumer queue "${def.queue}" has deadLetter: false and no x-dead-letter-exchange: the broker drops messages at ${limits.join(', ')}`
}

function resolveQueueOptions(value: unknown): QueueOptions {
  if (value === undefined) return {}
  const options = object('queueOptions', value) as QueueOptions
  if (options.type !== undefined && options.type !== 'classic' && options.type !== 'quorum')
    invalid('queueOptions.type', "expected 'classic' or 'quorum'")
  integer('queueOptions.deliveryLimit', options.deliveryLimit, 0, 0)
  integer('queueOptions.messageTtl', options.messageTtl, 0, 0)
  integer('queueOptions.maxLength', options.maxLength, 0, 0)
  boolean('queueOptions.singleActiveConsumer', options.singleActiveConsumer, false)
  integer('queueOptions.maxPriority', options.maxPriority, 1, 1, 255)
  if (options.maxPriority !== undefined && options.type === 'quorum')
    invalid('queueOptions.maxPriority', 'quorum queues take no x-max-priority (they have two priorities of their own)')
  if (options.arguments !== undefined) object('queueOptions.arguments', options.arguments)
  return { ...options }
}

function resolveBindings(value: unknown): ResolvedConsumer['bindings'] {
  if (value === undefined) return []
  if (!Array.isArray(value)) invalid('bindings', 'expected an array')
  return value.map((raw, i) => {
    const binding = object(`bindings[${i}]`, raw) as unknown as BindingOptions
    if (typeof binding.exchange !== 'string' || binding.exchange === '')
      invalid(`bindings[${i}].exchange`, 'expected a non-empty exchange name (the default exchange cannot be bound)')
    if (binding.routingKey !== undefined && typeof binding.routingKey !== 'string')
      invalid(`bindings[${i}].routingKey`, 'expected a string')
    if (binding.exchangeType !== undefined && !EXCHANGE_TYPES.includes(binding.exchangeType))
      invalid(`bindings[${i}].exchangeType`, `expected one of ${EXCHANGE_TYPES.join(', ')}`)
    if (binding.arguments !== undefined) object(`bindings[${i}].arguments`, binding.arguments)
    return { ...binding, routingKey: binding.routingKey ?? '' }
  })
}

export function resolveConsumer(
  given: ConsumeOptions | ExclusiveConsumeOptions,
  plugin: ResolvedPluginOptions
): ResolvedConsumer {
  object('consume options', given)
  const exclusiveQueue = boolean('exclusive', (given as { exclusive?: unknown }).exclusive, false)
  const options = exclusiveQueue ? exclusiveDefaults(given as ExclusiveConsumeOptions) : (given as ConsumeOptions)
  const queue = options.queue
  if (typeof queue !== 'string' || queue === '' || queue.startsWith('amq.'))
    invalid('queue', 'expected a non-empty queue name not starting with "amq." (or exclusive: true, without queue)')
  if (typeof options.handler !== 'function') invalid('handler', `expected a function for queue "${queue}"`)
  if (options.schema !== undefined) object('schema', options.schema)
  const queueOptions = resolveQueueOptions(options.queueOptions)
  const prefetch = integer('prefetch', options.prefetch, plugin.prefetch, 1)
  const concurrency = integer('concurrency', options.concurrency, plugin.concurrency ?? prefetch, 1)
  const retry = resolveRetry('retry', options.retry, plugin.retry)
  const delays: number[] = []
  for (let attempt = 1; attempt < retry.attempts; attempt += 1) delays.push(retryDelay(retry, attempt))
  const deadLetter = boolean('deadLetter', options.deadLetter, plugin.deadLetter)
  const queueArguments = consumerQueueArguments(queue, queueOptions, deadLetter)
  // Refused here rather than by a 4.x broker at runtime (a 541 would close the consume connection).
  const deprecated = deprecatedQueueFeature(queue, { durable: true, arguments: queueArguments })
  if (deprecated) throw new AmqpDeprecatedFeatureError('queueOptions.arguments', deprecated.feature, deprecated.problem)
  return {
    queue,
    queueOptions,
    queueArguments,
    bindings: resolveBindings(options.bindings),
    prefetch,
    concurrency,
    handlerTimeout: integer('handlerTimeout', options.handlerTimeout, plugin.handlerTimeout, 0, MAX_TIMER),
    maxDeliveries: integer('maxDeliveries', options.maxDeliveries, plugin.maxDeliveries, 0),
    retry,
    delays,
    deadLetter,
    deadLetterQueue: deadLetter ? deadLetterQueueName(queue) : null,
    sideQueues: sideQueues(queue, queueArguments, delays, deadLetter),
    maxBodyBytes: plugin.maxBodyBytes,
    exclusiveQueue,
    subscription: resolveSubscription(options),
  }
}

/**
 * An exclusive consumer as a named one: its own queue name, and none of what would outlive the instance (delay
 * queues, a DLQ) nor what only a durable queue has (queue types and limits, a redelivery count across instances).
 */
function exclusiveDefaults(options: ExclusiveConsumeOptions): ConsumeOptions {
  for (const field of ['queue', 'retry', 'deadLetter', 'maxDeliveries', 'queueOptions'] as const) {
    if ((options as unknown as Record<string, unknown>)[field] !== undefined)
      invalid(field, `not for an exclusive consumer: its queue is its own, made and deleted with its connection`)
  }
  const prefix = options.queuePrefix ?? 'broadcast'
  if (typeof prefix !== 'string' || prefix === '' || prefix.startsWith('amq.') || prefix.length > 200)
    invalid('queuePrefix', 'expected a non-empty name of at most 200 characters not starting with "amq."')
  return { ...options, queue: `${prefix}.${randomUUID()}`, retry: false, deadLetter: false, maxDeliveries: 0 }
}

function resolveSubscription(options: ConsumeOptions): ResolvedConsumer['subscription'] {
  const priority = options.priority === undefined ? undefined : integer('priority', options.priority, 0, -(2 ** 31))
  const tagPrefix = options.consumerTagPrefix
  if (tagPrefix !== undefined && (typeof tagPrefix !== 'string' || tagPrefix === '' || tagPrefix.length > 200))
    invalid('consumerTagPrefix', 'expected a non-empty string of at most 200 characters')
  return {
    exclusive: boolean('exclusiveConsumer', options.exclusiveConsumer, false),
    priority,
    tagPrefix: tagPrefix ?? null,
  }
}

/**
 * Every side queue of a consumer and the x-arguments it is declared with, delay queues first: the one place that
 * knows them. The DLQ takes the main queue's type: a classic one lives on one node, and while that node is down a
 * quorum queue's consumer could not re-declare it on the survivors (404 home node down).
 *
 * Delay queues are quorum queues whatever the main queue's type, because only a quorum queue dead-letters at least
 * once (`x-dead-letter-strategy: at-least-once`, which needs `x-overflow: reject-publish`): the expired copy moves
 * back to the main queue with the broker's own publisher confirms, and one whose main queue is missing, leaderless
 * or full is kept and tried again (every `dead_letter_worker_publisher_confirm_timeout`, 180 s by default) rather
 * than dropped, as a classic queue's dead-lettering (at most once) would.
 */
function sideQueues(
  queue: string,
  queueArguments: Record<string, unknown>,
  delays: number[],
  deadLetter: boolean
): ReadonlyMap<string, Record<string, unknown>> {
  const type = queueArguments['x-queue-type'] === 'quorum' ? { 'x-queue-type': 'quorum' } : {}
  const queues = new Map<string, Record<string, unknown>>()
  for (const ms of delays) {
    // Expired messages dead-letter back to the main queue through the default exchange.
    queues.set(delayQueueName(queue, ms), {
      'x-queue-type': 'quorum',
      'x-message-ttl': ms,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': queue,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    })
  }
  // A DLQ keeps what sorts its messages (priority); single active consumer and limits are the main queue's.
  const priority =
    queueArguments['x-max-priority'] !== undefined ? { 'x-max-priority': queueArguments['x-max-priority'] } : {}
  if (deadLetter) queues.set(deadLetterQueueName(queue), { ...type, ...priority })
  return queues
}

// Avvio bounds each onReady and preClose hook by pluginTimeout; the wait in it stops this much before.
function hookMargin(pluginTimeout: number): number {
  return Math.min(1_000, Math.ceil(pluginTimeout / 10))
}

/** What fits of `ms` in a hook Fastify's pluginTimeout bounds (0: none), and a warning when a configured value does not. */
function hookBudget(
  name: 'drainTimeout' | 'startTimeout',
  ms: number,
  set: boolean,
  pluginTimeout: number,
  consequence: string
): { ms: number; warning: string | null } {
  if (!(pluginTimeout > 0)) return { ms, warning: null }
  const fits = pluginTimeout - hookMargin(pluginTimeout)
  if (ms <= fits) return { ms, warning: null }
  const warning = set
    ? `amqp consumer ${name} (${ms} ms) does not fit in Fastify's pluginTimeout (${pluginTimeout} ms), which bounds the hook it runs in: pluginTimeout wins, ${consequence.replace('{fits}', String(fits))}`
    : null
  return { ms: fits, warning }
}

/**
 * How long app.close() waits for the drain (cancel included), within Fastify's pluginTimeout (0: none), which
 * bounds the preClose hook the drain runs in: past it close() would reject with Fastify's timeout and never close
 * the connections. A drainTimeout left at its default shrinks to fit; a configured one that does not fit yields
 * to pluginTimeout, with a warning to log once.
 */
export function drainBudget(
  plugin: Pick<ResolvedPluginOptions, 'drainTimeout' | 'drainTimeoutSet'>,
  pluginTimeout: number
): { drainMs: number; warning: string | null } {
  const { ms, warning } = hookBudget(
    'drainTimeout',
    plugin.drainTimeout,
    plugin.drainTimeoutSet,
    pluginTimeout,
    'the drain ends after {fits} ms (raise pluginTimeout to give handlers longer)'
  )
  return { drainMs: ms, warning }
}

/**
 * How long ready() waits for the consumers' first subscriptions, within pluginTimeout, which bounds the onReady
 * hook the wait runs in (past it ready() would reject with FST_ERR_HOOK_TIMEOUT); the same rule as drainBudget.
 */
export function startBudget(
  plugin: Pick<ResolvedPluginOptions, 'startTimeout' | 'startTimeoutSet'>,
  pluginTimeout: number
): { startMs: number; warning: string | null } {
  const { ms, warning } = hookBudget(
    'startTimeout',
    plugin.startTimeout,
    plugin.startTimeoutSet,
    pluginTimeout,
    'ready() waits {fits} ms at most (raise pluginTimeout to wait longer)'
  )
  return { startMs: ms, warning }
}

export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`
}

export function delayQueueName(queue: string, ms: number): string {
  // Not `.retry.` (up to 0.x): those were classic, or quorum without the at-least-once strategy, and declaring a
  // queue of the same name with other arguments fails (406). Old ones empty themselves into the main queue.
  return `${queue}.delay.${ms}`
}
