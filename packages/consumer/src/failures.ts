import type { FastifyBaseLogger } from 'fastify'
import type { DeathReason } from './decode.js'
import type { Delivery } from './delivery.js'
import { ConsumerHandlerTimeoutError } from './errors.js'
import type { Message } from './message.js'
import { delayQueueName, type ResolvedConsumer } from './options.js'
import { deadLetterOptions, errorText, retryOptions } from './republish.js'
import type { PublisherLike, PublishOptions } from './types.js'

// A failed republish is tried again after this pause, doubling up to the cap: the original stays
// unacked meanwhile, so a lasting failure (a deleted delay queue) holds one slot and does not spin.
const REPUBLISH_PAUSE = 500
const REPUBLISH_PAUSE_MAX = 30_000

/**
 * What happens to a message that was not handled: retry through a delay queue or
 * dead-letter. The original is acked only once the broker confirmed the copy.
 */
export class Failures {
  readonly #def: ResolvedConsumer
  readonly #log: FastifyBaseLogger
  readonly #publisher: () => PublisherLike

  constructor(def: ResolvedConsumer, log: FastifyBaseLogger, publisher: () => PublisherLike) {
    this.#def = def
    this.#log = log
    this.#publisher = publisher
  }

  async handlerFailed(delivery: Delivery, message: Message, err: unknown): Promise<void> {
    const { attempt } = message
    if (!delivery.settleable) {
      message.log.warn(
        { err: errorText(err) },
        'amqp consumer: handler failed after its delivery was given up (channel lost, broker cancel, or drain timeout)'
      )
      return
    }
    const retryable = !(typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === false)
    const attempts = this.#def.retry.attempts
    if (retryable && attempt < attempts) {
      const delay = this.#def.delays[attempt - 1] as number
      message.log.warn({ err, attempt, attempts, delay }, 'amqp consumer: handler failed, retry scheduled')
      const target = delayQueueName(this.#def.queue, delay)
      await this.#republish(delivery, target, retryOptions(delivery.raw.properties, attempt + 1, err))
      return
    }
    message.log.error(
      { err, attempt, attempts, retryable },
      retryable ? 'amqp consumer: handler failed, attempts exhausted' : 'amqp consumer: non-retryable handler error'
    )
    const reason = err instanceof ConsumerHandlerTimeoutError ? 'handler-timeout' : 'handler-error'
    await this.deadLetter(delivery, reason, errorText(err), attempt)
  }

  async deadLetter(delivery: Delivery, reason: DeathReason, error: string, attempt: number): Promise<void> {
    const dlq = this.#def.deadLetterQueue
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
    await this.#republish(delivery, dlq, options)
  }

  /**
   * Sends the original to `queue` and acks it only once the broker confirmed. A failed send is tried
   * again, the original held unacked, rather than requeued: a requeue would run the handler again and,
   * on a quorum queue before RabbitMQ 4.3, count towards its delivery limit, so a broker hiccup (nacks
   * while a leader moves) would spend the message's attempts.
   */
  async #republish(delivery: Delivery, queue: string, options: PublishOptions): Promise<void> {
    const { messageId } = delivery.raw.properties
    let wait = REPUBLISH_PAUSE
    // Once its channel is gone the broker redelivers it, so a copy would only be a duplicate.
    while (delivery.settleable) {
      try {
        await this.#publisher().publish('', queue, delivery.raw.content, options)
      } catch (err) {
        if (isTooLarge(err)) {
          // The broker refuses a copy this large (its limit differs from the one that let the original in): trying
          // again cannot help. Rejected: the queue's own dead-letter exchange takes it if it has one (every quorum
          // queue does), otherwise the broker drops it.
          this.#log.error(
            { messageId, target: queue, err: errorText(err) },
            'amqp consumer: the broker refuses a copy this large; rejecting the original'
          )
          delivery.reject()
          return
        }
        if (isPublisherClosed(err)) {
          this.#log.error(
            { messageId, target: queue, err: errorText(err) },
            'amqp consumer: republish failed, requeueing'
          )
          delivery.requeue()
          return
        }
        this.#log.error(
          { messageId, target: queue, err: errorText(err), retryInMs: wait },
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

// Nothing will go out any more (the connection gave up, or close): hand the original back to the broker.
function isPublisherClosed(err: unknown): boolean {
  const code = codeOf(err)
  return code === 'FST_AMQP_PUBLISHER_CLOSED' || code === 'FST_AMQP_CLOSED'
}

function isTooLarge(err: unknown): boolean {
  return codeOf(err) === 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE'
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
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
