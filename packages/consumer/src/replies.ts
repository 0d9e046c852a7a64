import { ERROR_REPLY_TYPE } from '@fastify-amqp/publisher'
import type { FastifyBaseLogger } from 'fastify'
import type { Delivery } from './delivery.js'
import { describeError } from './describe-error.js'
import type { PublisherLike } from './types.js'

/**
 * Answers requests (a message with `replyTo`, as publisher.request sends them over direct reply-to): the handler's
 * return value on success, its error once the message is given up. Sent with the publisher's confirms before the
 * request is acked; a requester that has gone (timed out, its channel closed) makes the reply unroutable, which is
 * only logged: the request was handled, and a reply never fails it.
 */
export class Replies {
  readonly #publisher: () => PublisherLike
  readonly #log: FastifyBaseLogger

  constructor(publisher: () => PublisherLike, log: FastifyBaseLogger) {
    this.#publisher = publisher
    this.#log = log
  }

  /** The handler's return value (undefined is sent as null). */
  answer(delivery: Delivery, value: unknown): Promise<void> {
    return this.#send(delivery, value === undefined ? null : value, undefined)
  }

  /** The failure the request ended in: the caller's promise rejects with FST_AMQP_PUBLISHER_REMOTE_ERROR. */
  answerError(delivery: Delivery, err: unknown, code?: string): Promise<void> {
    const ownCode = (err as { code?: unknown } | null)?.code
    const message = typeof err === 'string' ? err : describeError(err)
    return this.#send(
      delivery,
      { message, code: code ?? (typeof ownCode === 'string' ? ownCode : undefined) },
      ERROR_REPLY_TYPE
    )
  }

  async #send(delivery: Delivery, body: unknown, type: string | undefined): Promise<void> {
    const { replyTo, correlationId } = delivery.raw.properties
    if (typeof replyTo !== 'string' || replyTo === '') return
    try {
      await this.#publisher().publish('', replyTo, body, {
        correlationId,
        persistent: false,
        ...(type === undefined ? {} : { type }),
      })
    } catch (err) {
      this.#log.warn(
        { correlationId, err: describeError(err) },
        'amqp consumer: the reply did not reach the requester (it may have timed out or gone)'
      )
    }
  }
}
