import { randomUUID } from 'node:crypto'
import type { AmqpClient, ConfirmChannel, ConsumeMessage, ManagedChannel } from '@fastify-amqp/connection'
import type { FastifyBaseLogger } from 'fastify'
import type { Admission } from './admission.js'
import { type CloseReply, channelRefusal, type RefusedPublish } from './channel-refusal.js'
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
import type { PublisherTelemetryHooks } from './telemetry-hooks.js'

/** RabbitMQ's direct reply-to: replies come straight to the requesting channel's consumer, no queue per request. */
const REPLY_TO = 'amq.rabbitmq.reply-to'
/** The `type` of a reply that carries the responder's error (body `{ message, code }`): the consumer sends it. */
export const ERROR_REPLY_TYPE = 'fastify-amqp.error'

export interface RequestOptions extends Omit<PublishOptions, 'replyTo' | 'correlationId' | 'maxMessageBytes'> {
  /** ms to wait for the reply, instead of the publisher's requestTimeout; also the request's expiration. */
  timeout?: number
}

interface Pending extends RefusedPublish {
  resolve: (body: unknown) => void
  reject: (err: Error) => void
  /** Ends the request's telemetry as a publish's (confirmed, or why not); only the first call counts. */
  sent: (error: Error | null) => void
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
  readonly #telemetry: PublisherTelemetryHooks | null
  #closed = false

  constructor(
    amqp: AmqpClient,
    admission: Admission,
    log: FastifyBaseLogger,
    timeout: number,
    telemetry: PublisherTelemetryHooks | null
  ) {
    this.#admission = admission
    this.#telemetry = telemetry
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
    this.#managed.on('lost', ({ error, reply }) => this.#lost(error, reply))
  }

  get pending(): number {
    return this.#pending.size
  }

  request(exchange: string, routingKey: string, body: unknown, options: RequestOptions = {}): Promise<unknown> {
    // Traced as a publish: a PRODUCER span from here to the broker's confirm, its context in the headers, so the
    // responder's CONSUMER span joins the caller's trace.
    let observation = this.#telemetry?.start(exchange, routingKey) ?? null
    const sent = (error: Error | null) => {
      if (observation === null) return
      this.#telemetry?.settled(observation, error)
      observation = null
    }
    if (this.#closed) {
      const closed = withArrival(new PublisherClosedError('close() was called'), false)
      sent(closed)
      return Promise.reject(closed)
    }
    let content: Buffer
    try {
      content = this.#admission.admit(exchange, routingKey, body, options)
    } catch (err) {
      sent(err as Error)
      return Promise.reject(err)
    }
    const { timeout = this.#timeout, signal, ...properties } = options
    const correlationId = randomUUID()
    const contentType = content === body ? 'application/octet-stream' : 'application/json'
    const props: PublishOptions = {
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
    }
    if (observation !== null) this.#telemetry?.admitted(observation, props, content.length)
    return new Promise<unknown>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#pending.delete(correlationId)
      }
      const fail = (err: Error) => {
        settle()
        sent(err)
        reject(err)
      }
      const timer = setTimeout(() => fail(withArrival(new RequestTimeoutError(timeout), true)), timeout)
      const onAbort = () => fail(withArrival(abortedError(signal as AbortSignal), true))
      this.#pending.set(correlationId, {
        exchange,
        routingKey,
        size: content.length,
        resolve: (reply) => {
          settle()
          // A reply proves the request arrived, should its confirm not come (the channel lost in between).
          sent(null)
          resolve(reply)
        },
        reject: fail,
        sent,
      })
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      void this.#send(correlationId, exchange, routingKey, content, props)
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
      const pending = this.#pending.get(id) as Pending
      channel.publish(exchange, routingKey, content, props, (err) => {
        // Confirmed: the span ends here, as a publish's, whether the reply has come yet or not.
        if (!err) return pending.sent(null)
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
    // basic.return comes before the confirm: the rejection ends the span first, with its reason.
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

  /**
   * The channel is gone, and every reply with it. When a request made the broker close it (an exchange that is not
   * there, or refused), that request fails with the broker's reason and was not sent; the rest were cut off.
   */
  #lost(error: string | null, reply: CloseReply | null | undefined): void {
    const refusal = channelRefusal(reply, error)
    if (refusal?.kind === 'named') {
      for (const pending of [...this.#pending.values()]) {
        const refused = refusal.errorFor(pending)
        if (refused !== null) pending.reject(withArrival(refused, false))
      }
    }
    this.#rejectAll(withArrival(new RequestLostError(error ?? 'the connection was lost'), true))
  }

  #rejectAll(error: Error): void {
    for (const pending of [...this.#pending.values()]) pending.reject(error)
  }
}
