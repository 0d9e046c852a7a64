import type { AmqpClosedError } from '@fastify-amqp/connection'
import type { MessageTooLargeError, PublisherClosedError, UnroutableError } from '@fastify-amqp/publisher'
import type { FastifyBaseLogger } from 'fastify'
import type { DeathReason } from './decode.js'
import { attemptOf, type Delivery } from './delivery.js'
import { describeError } from './describe-error.js'
import { ConsumerHandlerTimeoutError } from './errors.js'
import type { Message } from './message.js'
import { delayQueueName, type ResolvedConsumer } from './options.js'
import { deadLetterOptions, retryOptions } from './republish.js'
import type { PublisherLike, PublishOptions } from './types.js'

// A failed republish is tried again after this pause, doubling up to the cap: the original stays
// unacked meanwhile, so a lasting failure holds one slot and does not spin.
const REPUBLISH_PAUSE = 500
const REPUBLISH_PAUSE_MAX = 30_000

// The codes a republish can fail with that change what happens next, typed by the packages that define them. Matched
// by code: the error comes from whichever publisher is in use (app.publisher, maybe another installed copy, or ours).
type CodeOf<E extends { prototype: { code: string } }> = E['prototype']['code']
const TOO_LARGE: CodeOf<typeof MessageTooLargeError> = 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE'
const PUBLISHER_CLOSED: CodeOf<typeof PublisherClosedError> = 'FST_AMQP_PUBLISHER_CLOSED'
const CONNECTION_CLOSED: CodeOf<typeof AmqpClosedError> = 'FST_AMQP_CONNECTION_CLOSED'
const UNROUTABLE: CodeOf<typeof UnroutableError> = 'FST_AMQP_PUBLISHER_UNROUTABLE'

/** What the consumer does for Failures: the side queues and the publisher's fate are its business. */
export interface FailureHooks {
  /** Declares a side queue again on the consumer's channel (it was deleted); false when that could not be done. */
  redeclare(queue: string): Promise<boolean>
  /** The publisher refuses for good (closed): consuming stops until publishing is back. */
  publishingGone(why: string): void
}

/**
 * What happens to a message that was not handled: retry through a delay queue or
 * dead-letter. The original is acked only once the broker confirmed the copy.
 */
export class Failures {
  readonly #def: ResolvedConsumer
  readonly #log: FastifyBaseLogger
  readonly #publisher: () => PublisherLike
  readonly #hooks: FailureHooks

  constructor(def: ResolvedConsumer, log: FastifyBaseLogger, publisher: () => PublisherLike, hooks: FailureHooks) {
    this.#def = def
    this.#log = log
    this.#publisher = publisher
    this.#hooks = hooks
  }

  /** Retries or dead-letters the message; says which ('gone': its delivery was given up, nothing was done). */
  async handlerFailed(delivery: Delivery, message: Message, err: unknown): Promise<'retried' | 'given-up' | 'gone'> {
    const { attempt } = message
    delivery.failure = err
    // Described once, never logged raw: a hostile thrown value can make a logger throw.
    const error = describeError(err)
    if (!delivery.settleable) {
      message.log.warn(
        { err: error },
        'amqp consumer: handler failed after its delivery was given up (channel lost, broker cancel, or drain timeout)'
      )
      return 'gone'
    }
    const retryable = read(() => (err as { retryable?: unknown }).retryable) !== false
    const attempts = this.#def.retry.attempts
    if (retryable && attempt < attempts) {
      const delay = this.#def.delays[attempt - 1] as number
      message.log.warn({ err: error, attempt, attempts, delay }, 'amqp consumer: handler failed, retry scheduled')
      const target = delayQueueName(this.#def.queue, delay)
      delivery.outcome = 'retry'
      await this.#republish(delivery, target, retryOptions(delivery.raw.properties, attempt + 1, error))
      return 'retried'
    }
    message.log.error(
      { err: error, attempt, attempts, retryable },
      retryable ? 'amqp consumer: handler failed, attempts exhausted' : 'amqp consumer: non-retryable handler error'
    )
    const timedOut = read(() => err instanceof ConsumerHandlerTimeoutError) === true
    await this.deadLetter(delivery, timedOut ? 'handler-timeout' : 'handler-error', error, attempt)
    return 'given-up'
  }

  /** To `<queue>.dlq`; `once`: a single try (plus one after re-declaring a deleted DLQ), not tried until it works. */
  async deadLetter(
    delivery: Delivery,
    reason: DeathReason,
    error: string,
    attempt: number,
    once = false
  ): Promise<void> {
    const dlq = this.#def.deadLetterQueue
    delivery.outcome = 'dead-letter'
    delivery.deathReason = reason
    delivery.failure ??= error
    if (!dlq) {
      // deadLetter: false. Rejected without requeue: dropped, or routed by the queue's own DLX if it has one.
      delivery.reject()
      this.#log.error({ messageId: delivery.raw.properties.messageId, reason }, 'amqp consumer: message rejected')
      return
    }
    const { fields, properties } = delivery.raw
    const options = deadLetterOptions(properties, {
      reason,
      error,
      queue: this.#def.queue,
      attempts: attempt,
      exchange: fields.exchange,
      routingKey: fields.routingKey,
    })
    await this.#republish(delivery, dlq, options, once)
  }

  /**
   * The last resort, for a delivery whose handling failed where nothing may fail (a bug, or a publisher that
   * throws instead of rejecting): it must not stay unsettled, holding its prefetch slot until the channel dies.
   * Dead-lettered (`consumer-error`), one try; if that fails too, rejected (basic.reject without requeue): the
   * queue's own dead-letter exchange takes it if it has one (every quorum queue here does), else the broker drops it.
   */
  async settleAfterBug(delivery: Delivery, err: unknown): Promise<void> {
    const messageId = delivery.raw.properties.messageId
    const tried = read(() => attemptOf(delivery.raw))
    const attempt = typeof tried === 'number' ? tried : 1
    const error = describeError(err)
    if (!delivery.settleable) {
      this.#log.error(
        { messageId, err: error },
        'amqp consumer: unexpected error while handling a message; its delivery is gone, the broker redelivers it'
      )
      return
    }
    this.#log.error(
      { messageId, err: error },
      'amqp consumer: unexpected error while handling a message; dead-lettering it (consumer-error)'
    )
    try {
      await this.deadLetter(delivery, 'consumer-error', error, attempt, true)
    } catch (again) {
      this.#log.error({ messageId, err: describeError(again) }, 'amqp consumer: dead-lettering it failed too')
    }
    if (delivery.settleable && delivery.reject()) {
      this.#log.error(
        { messageId },
        "amqp consumer: message rejected without requeue: the queue's own dead-letter exchange takes it if it has one, else the broker drops it"
      )
    }
  }

  /**
   * Sends the original to `queue` and acks it only once the broker confirmed. A failed send is tried
   * again, the original held unacked, rather than requeued: a requeue would run the handler again and,
   * on a quorum queue before RabbitMQ 4.3, count towards its delivery limit, so a broker hiccup (nacks
   * while a leader moves) would spend the message's attempts. A side queue that is gone (unroutable: deleted
   * while the app runs) is declared again and the copy sent again at once; `once` stops after that.
   */
  async #republish(delivery: Delivery, queue: string, options: PublishOptions, once = false): Promise<void> {
    const { messageId } = delivery.raw.properties
    let wait = REPUBLISH_PAUSE
    let redeclared = false
    // Once its channel is gone the broker redelivers it, so a copy would only be a duplicate.
    while (delivery.settleable) {
      // Outside the try: a publisher that throws rather than rejects is no failure to wait out (see settleAfterBug).
      const sent = this.#publisher().publish('', queue, delivery.raw.content, options)
      try {
        await sent
      } catch (err) {
        const code = codeOf(err)
        if (code === TOO_LARGE) {
          // The broker refuses a copy this large (its limit differs from the one that let the original in): trying
          // again cannot help. Rejected: the queue's own dead-letter exchange takes it if it has one (every quorum
          // queue does), otherwise the broker drops it.
          this.#log.error(
            { messageId, target: queue, err: describeError(err) },
            'amqp consumer: the broker refuses a copy this large; rejecting the original'
          )
          delivery.reject()
          return
        }
        if (code === PUBLISHER_CLOSED || code === CONNECTION_CLOSED) {
          // Nothing will go out any more (the publish connection gave up, or close): consuming stops first, so the
          // original handed back now is not delivered here again at once (a hot loop).
          const why = describeError(err)
          this.#hooks.publishingGone(why)
          this.#log.error({ messageId, target: queue, err: why }, 'amqp consumer: republish failed, requeueing')
          delivery.requeue()
          return
        }
        if (code === UNROUTABLE && !redeclared && this.#def.sideQueues.has(queue)) {
          redeclared = true
          this.#log.warn(
            { messageId, target: queue },
            'amqp consumer: republish unroutable, the side queue is gone; declaring it again and sending again'
          )
          if (await this.#hooks.redeclare(queue)) continue
        }
        if (once) return
        redeclared = false
        this.#log.error(
          { messageId, target: queue, err: describeError(err), retryInMs: wait },
          'amqp consumer: republish failed, holding the original and trying again'
        )
        await pause(wait, delivery.lost)
        wait = Math.min(wait * 2, REPUBLISH_PAUSE_MAX)
        continue
      }
      if (!delivery.ack()) {
        this.#log.warn(
          { messageId, target: queue },
          'amqp consumer: republished, but the original channel is gone: the broker redelivers it (a duplicate)'
        )
      }
      return
    }
  }
}

const FAILED = Symbol('failed')

// A property of a thrown value, or FAILED when reading it throws (a getter, a Proxy trap).
function read<T>(get: () => T): T | typeof FAILED {
  try {
    return get()
  } catch {
    return FAILED
  }
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? read(() => (err as { code?: unknown }).code) : undefined
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
