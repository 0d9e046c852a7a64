import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { Decoder } from './decode.js'
import { attemptOf, type Delivery } from './delivery.js'
import { ConsumerHandlerTimeoutError } from './errors.js'
import type { Failures } from './failures.js'
import { withHandlerTimeout } from './handler-timeout.js'
import { header, headersOf } from './headers.js'
import { Message, type MessageContext } from './message.js'
import type { ResolvedConsumer } from './options.js'
import type { Redeliveries } from './redeliveries.js'
import type { Replies } from './replies.js'
import type { ConsumeHandler } from './types.js'

/** What one consumer's processing uses; the consumer owns each of them. */
export interface ProcessingParts {
  def: ResolvedConsumer
  handler: ConsumeHandler
  instance: FastifyInstance
  decoder: Decoder
  log: FastifyBaseLogger
  context: MessageContext
  failures: Failures
  replies: Replies
  redeliveries: Redeliveries
  /** The handlerTimeout timers of running handlers. */
  limits: Set<NodeJS.Timeout>
}

/**
 * One delivery from its start to its settlement: the redelivery limit, decoding, the handler under its timeout,
 * the reply to a request, and the ack, retry or dead letter. The consumer decides when a delivery starts.
 */
export class Processing {
  readonly #def: ResolvedConsumer
  readonly #handler: ConsumeHandler
  readonly #instance: FastifyInstance
  readonly #decoder: Decoder
  readonly #log: FastifyBaseLogger
  readonly #context: MessageContext
  readonly #failures: Failures
  readonly #replies: Replies
  readonly #redeliveries: Redeliveries
  readonly #limits: Set<NodeJS.Timeout>

  constructor(parts: ProcessingParts) {
    this.#def = parts.def
    this.#handler = parts.handler
    this.#instance = parts.instance
    this.#decoder = parts.decoder
    this.#log = parts.log
    this.#context = parts.context
    this.#failures = parts.failures
    this.#replies = parts.replies
    this.#redeliveries = parts.redeliveries
    this.#limits = parts.limits
  }

  async process(delivery: Delivery): Promise<void> {
    const attempt = attemptOf(delivery.raw)
    const previous = this.#lostBefore(delivery)
    if (previous > 0 && previous >= this.#def.maxDeliveries) {
      const error = `delivered ${previous} times before without its handler finishing (maxDeliveries ${this.#def.maxDeliveries})`
      this.#log.error(
        { messageId: delivery.raw.properties.messageId, deliveries: previous, maxDeliveries: this.#def.maxDeliveries },
        'amqp consumer: redelivery limit reached, dead-lettering it unrun'
      )
      await this.#failures.deadLetter(delivery, 'redelivery-limit', error, attempt)
      await this.#replies.answerError(delivery, error, 'redelivery-limit')
      return
    }
    const decoded = this.#decoder.decode(delivery.raw)
    if (!decoded.ok) {
      this.#log.warn(
        { messageId: delivery.raw.properties.messageId, reason: decoded.reason, err: decoded.message },
        'amqp consumer: rejected message, dead-lettering it'
      )
      await this.#failures.deadLetter(delivery, decoded.reason, decoded.message, attempt)
      await this.#replies.answerError(delivery, decoded.message, decoded.reason)
      return
    }
    const message = new Message(delivery, decoded.body, attempt, this.#context)
    const limit = this.#def.handlerTimeout
    let result: unknown
    try {
      result = await withHandlerTimeout(
        () => this.#handler.call(this.#instance, message as Parameters<ConsumeHandler>[0]),
        limit,
        () => {
          const err = new ConsumerHandlerTimeoutError(limit)
          delivery.abort(err)
          return err
        },
        this.#limits
      )
    } catch (err) {
      const outcome = await this.#failures.handlerFailed(delivery, message, err)
      if (outcome === 'given-up') await this.#replies.answerError(delivery, err)
      return
    }
    // A request (replyTo set): the return value is its reply, sent before the ack.
    if (delivery.raw.properties.replyTo) await this.#replies.answer(delivery, result)
    if (!delivery.ack()) message.log.debug('amqp consumer: ack dropped, the channel is gone; the broker redelivers')
  }

  /**
   * Deliveries of this message before this one whose handler never finished, or 0 when there is no limit or it
   * is no redelivery. A quorum queue counts returns itself (x-delivery-count, which counts deliveries returned
   * unstarted too); a classic queue counts nothing, so this consumer's own count of losses stands in for it.
   */
  #lostBefore(delivery: Delivery): number {
    const { fields, properties } = delivery.raw
    if (this.#def.maxDeliveries === 0 || !fields.redelivered) return 0
    const own = this.#redeliveries.count(properties.messageId)
    if (this.#def.queueArguments['x-queue-type'] !== 'quorum') return own
    const counted = header(headersOf(properties), 'x-delivery-count')
    return typeof counted === 'number' && Number.isInteger(counted) && counted > own ? counted : own
  }
}
