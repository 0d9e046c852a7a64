import { randomUUID } from 'node:crypto'
import type { AmqpClient, ConfirmChannel, ConsumeMessage, ManagedChannel } from '@fastify-amqp/connection'
import type { FastifyBaseLogger } from 'fastify'
import type { Admission } from './admission.js'
import {
  PublisherClosedError,
  PublishNackError,
  RemoteError,
  RequestLostError,
  RequestTimeoutError,
  UnroutableError,
} from './errors.js'
import type { PublishOptions } from './publisher.js'
import { abortedError, withArrival } from './rejections.js'

/** RabbitMQ's direct reply-to: replies come straight to the requesting channel's consumer, no queue per request. */
const REPLY_TO = 'amq.rabbitmq.reply-to'
/** The `type` of a reply that carries the responder's error (body `{ message, code }`): the consumer sends it. */
export const ERROR_REPLY_TYPE = 'fastify-amqp.error'

export interface RequestOptions extends Omit<PublishOptions, 'replyTo' | 'correlationId' | 'maxMessageBytes'> {
  /** ms to wait for the reply, instead of the publisher's requestTimeout; also the request's expiration. */
  timeout?: number
}

interface Pending {
  resolve: (body: unknown) => void
  reject: (err: Error) => void
}

/**
 * publisher.request(): one confirm channel on the publish connection that consumes its own direct reply-to, so
 * each request is one publish with a correlation id and its reply comes back to the same channel. Replies cannot
 * survive the channel (the broker routes them to this channel's consumer only): a loss rejects every pending
 * request at once, and the channel comes back with the connection.
 */
export class Requester {
  readonly #managed: ManagedChannel<ConfirmChannel>
  readonly #admission: Admission
  readonly #log: FastifyBaseLogger
  readonly #timeout: number
  readonly #pending = new Map<string, Pending>()
  #closed = false

  constructor(amqp: AmqpClient, admission: Admission, log: FastifyBaseLogger, timeout: number) {
    this.#admission = admission
    this.#log = log
    this.#timeout = timeout
    this.#managed = amqp.channel({
      confirm: true,
      name: 'requests',
      setup: async (channel) => {
        channel.on('return', (msg: ConsumeMessage) => this.#returned(msg))
        await channel.consume(REPLY_TO, (msg) => msg && this.#replied(msg), { noAck: true })
      },
    })
    this.#managed.on('lost', ({ error }) =>
      this.#rejectAll(withArrival(new RequestLostError(error ?? 'the connection was lost'), true))
    )
  }

  get pending(): number {
    return this.#pending.size
  }

  request(exchange: string, routingKey: string, body: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (this.#closed) return Promise.reject(withArrival(new PublisherClosedError('close() was called'), false))
    let content: Buffer
    try {
      content = this.#admission.admit(exchange, routingKey, body, options)
    } catch (err) {
      return Promise.reject(err)
    }
    const { timeout = this.#timeout, signal, ...properties } = options
    const correlationId = randomUUID()
    return new Promise<unknown>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#pending.delete(correlationId)
      }
      const timer = setTimeout(() => {
        settle()
        reject(withArrival(new RequestTimeoutError(timeout), true))
      }, timeout)
      const onAbort = () => {
        settle()
        reject(withArrival(abortedError(signal as AbortSignal), true))
      }
      this.#pending.set(correlationId, {
        resolve: (reply) => {
          settle()
          resolve(reply)
        },
        reject: (err) => {
          settle()
          reject(err)
        },
      })
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      const contentType = content === body ? 'application/octet-stream' : 'application/json'
      void this.#send(correlationId, exchange, routingKey, content, {
        contentType,
        messageId: correlationId,
        timestamp: Math.floor(Date.now() / 1000),
        ...properties,
        // Not worth keeping past the caller's patience: a responder that comes back late does not run it.
        expiration: String(timeout),
        persistent: false,
        mandatory: true,
        replyTo: REPLY_TO,
        correlationId,
      })
    })
  }

  /** Rejects what is pending and closes the channel. */
  async close(): Promise<void> {
    this.#closed = true
    this.#rejectAll(withArrival(new PublisherClosedError('close() was called'), true))
    await this.#managed.close()
  }

  async #send(id: string, exchange: string, routingKey: string, content: Buffer, props: PublishOptions) {
    let channel: ConfirmChannel
    try {
      channel = await this.#managed.waitForOpen()
    } catch (err) {
      return this.#pending.get(id)?.reject(withArrival(err as Error, false))
    }
    // Timed out or aborted while the channel was opening: nothing to send.
    if (!this.#pending.has(id)) return
    try {
      channel.publish(exchange, routingKey, content, props, (err) => {
        if (!err) return
        // amqplib fails the unconfirmed with the same callback when the channel closes, just before 'lost' rejects
        // them as lost: only what is still pending after that was nacked.
        setImmediate(() =>
          this.#pending.get(id)?.reject(withArrival(new PublishNackError(exchange, routingKey), false))
        )
      })
    } catch (err) {
      this.#pending.get(id)?.reject(withArrival(err as Error, false))
    }
  }

  #returned(msg: ConsumeMessage): void {
    const pending = this.#pending.get(String(msg.properties.correlationId))
    pending?.reject(withArrival(new UnroutableError(msg.fields.exchange, msg.fields.routingKey), false))
  }

  #replied(msg: ConsumeMessage): void {
    const pending = this.#pending.get(String(msg.properties.correlationId))
    if (pending) this.#settle(pending, msg)
    // A reply after the timeout, or to a request of an earlier channel: nobody waits for it.
    else this.#log.debug({ correlationId: msg.properties.correlationId }, 'amqp request: late reply')
  }

  #settle(pending: Pending, msg: ConsumeMessage): void {
    let body: unknown = msg.content
    try {
      if (msg.properties.contentType === 'application/json') body = JSON.parse(msg.content.toString())
    } catch (err) {
      pending.reject(new RemoteError(`its reply is not valid JSON (${(err as Error).message})`))
      return
    }
    if (msg.properties.type !== ERROR_REPLY_TYPE) {
      pending.resolve(body)
      return
    }
    const { message, code } = (body ?? {}) as { message?: unknown; code?: unknown }
    const error = new RemoteError(typeof message === 'string' ? message : 'no message')
    if (typeof code === 'string') Object.defineProperty(error, 'remoteCode', { value: code, enumerable: true })
    pending.reject(error)
  }

  #rejectAll(error: Error): void {
    for (const pending of [...this.#pending.values()]) pending.reject(error)
  }
}
