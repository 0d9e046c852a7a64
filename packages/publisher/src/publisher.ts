import type { AmqpClient, ConfirmChannel, ManagedChannel, ManagedConnection } from '@fastify-amqp/connection'
import type { Message, Options } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import { Admission } from './admission.js'
import { mayHaveArrived, REFUSED, REJECTED, UNKNOWN, type Verdict } from './arrival.js'
import { burstFlusher } from './burst-flush.js'
import { type CloseReply, channelRefusal } from './channel-refusal.js'
import type { MessageSchema } from './compile-schema.js'
import { ConfirmWindow } from './confirm-window.js'
import { DONE, Entry, NEW, type PublishReceipt, QUEUED, SENT } from './entry.js'
import {
  ConfirmTimeoutError,
  InvalidPropertiesError,
  PublisherClosedError,
  PublishNackError,
  UnroutableError,
} from './errors.js'
import { sortLoss } from './loss.js'
import { MessageIds } from './message-id.js'
import { type PublisherOptions, type ResolvedPublisherOptions, resolvePublisherOptions } from './options.js'
import { Recycler } from './recycler.js'
import { abortedError, shedError, withArrival } from './rejections.js'
import { Requester, type RequestOptions } from './requester.js'
import { type BodyFor, SchemaChecks } from './schemas.js'
import { SendQueue } from './send-queue.js'
import type { PublisherTelemetryHooks, PublishObservation } from './telemetry-hooks.js'
import { Ticker } from './ticker.js'

export type { PublishReceipt } from './entry.js'
export type { PublisherOptions } from './options.js'

export interface PublishOptions extends Options.Publish {
  /** ms to wait for the confirm (buffered time included), instead of confirmTimeout. */
  timeout?: number
  /** Aborting rejects the publish with FST_AMQP_PUBLISHER_ABORTED, the signal's reason as its cause. */
  signal?: AbortSignal
  /** This publish's own limit instead of the publisher's maxMessageBytes (a limit the broker stated still applies). */
  maxMessageBytes?: number
}

interface ConfirmFields {
  deliveryTag: number
  multiple: boolean
}

interface LostInfo {
  error: string | null
  /** The broker's Channel.Close, when it closed the channel. */
  reply?: CloseReply | null
}

/**
 * Publishes with confirms on one managed confirm channel. Confirms are matched by delivery tag;
 * what was written but not confirmed when a channel died is written again on the next one with
 * the same messageId, and while no channel is up messages wait in a bounded buffer. At-least-once:
 * a publish that resolved is stored by the broker; a rejected one may still have arrived
 * (timeout, abort, close), so a caller's retry can duplicate it, never lose it.
 */
export class Publisher {
  readonly #log: FastifyBaseLogger
  readonly #options: ResolvedPublisherOptions
  readonly #admission: Admission
  readonly #managed: ManagedChannel<ConfirmChannel>
  readonly #connection: ManagedConnection
  /** The open channel we write to, or null while there is none. */
  #ch: ConfirmChannel | null = null
  /** Writes the channel's buffered frames now during a burst (see burst-flush.ts); null when unavailable. */
  #flush: (() => void) | null = null
  /** publish() returned false: nothing more is written until 'drain'. */
  #draining = false
  readonly #window = new ConfirmWindow((entry, nack) => this.#confirmed(entry, nack))
  /** Entries waiting to be written, in publish order (re-sends first). */
  readonly #queue: SendQueue
  /** Entries written on this channel and waiting for their confirm, and their body bytes. */
  #inflight = 0
  #inflightBytes = 0
  /** The next this many queued entries go out one at a time, each after the last one's confirm (see #onLost). */
  #probe = 0
  readonly #ticker: Ticker
  readonly #ids = new MessageIds()
  /** No pending entry's deadline is earlier than this: until then a sweep has nothing to expire. */
  #nextDeadline = Number.POSITIVE_INFINITY
  /** Set once publishing stops: why new publishes are refused. */
  #refusal: string | null = null
  #closing: Promise<void> | null = null
  #onIdle: (() => void) | null = null
  #full = false
  /** A nack came, or the window filled with expired publishes: nothing more is written here; a fresh channel is on its way. */
  #paused = false
  readonly #recycler = new Recycler()
  /** Entries nacked by the current confirm event, put back in the buffer together, in order. */
  readonly #nacked: Entry[] = []
  readonly #amqp: AmqpClient
  /** request()'s reply channel, made at the first request. */
  #requester: Requester | null = null
  /** Traces and metrics, or null when no OpenTelemetry SDK is registered (see telemetry.ts). */
  readonly #telemetry: PublisherTelemetryHooks | null

  constructor(
    amqp: AmqpClient,
    options: PublisherOptions,
    log: FastifyBaseLogger,
    telemetry: PublisherTelemetryHooks | null = null
  ) {
    this.#options = resolvePublisherOptions(options)
    this.#log = log
    this.#amqp = amqp
    const schemas = Object.keys(this.#options.schemas).length > 0 ? new SchemaChecks(this.#options.schemas) : null
    this.#queue = new SendQueue(this.#options.maxMessages, this.#options.maxBytes)
    this.#ticker = new Ticker(this.#options.confirmTimeout, this.#sweep)
    this.#managed = amqp.channel({ confirm: true, name: 'publisher' })
    this.#connection = amqp.connection('publish')
    const connection = this.#connection as { username?: string | null }
    this.#admission = new Admission(schemas, this.#options.maxMessageBytes, () => connection.username ?? null)
    this.#managed.on('open', this.#onOpen)
    this.#managed.on('lost', this.#onLost)
    this.#connection.on('closed', this.#onConnectionClosed)
    this.#connection.on('connected', this.#onConnected)
    this.#telemetry = telemetry
    telemetry?.observe(
      { buffered: () => this.#queue.count, bufferedBytes: () => this.#queue.bytes, inflight: () => this.#inflight },
      this.#connection
    )
  }

  /** Messages accepted and not settled yet: written and awaiting a confirm, plus buffered. */
  get pending(): number {
    return this.#inflight + this.#queue.count
  }

  /** The body schemas by `${exchange}:${routingKey}`, as given (read by the consumer's app.asyncapi()). */
  get schemas(): Readonly<Record<string, MessageSchema>> {
    return this.#options.schemas
  }

  publish<E extends string, R extends string>(
    exchange: E,
    routingKey: R,
    body: BodyFor<E, R>,
    options?: PublishOptions
  ): Promise<PublishReceipt> {
    const observation = this.#telemetry?.start(exchange, routingKey) ?? null
    if (this.#refusal !== null)
      return this.#refuse(observation, withArrival(new PublisherClosedError(this.#refusal), false))
    const open = this.#open() && this.#queue.count === 0
    // Shed load before doing any work for a message that cannot be kept.
    if (!open && this.#queue.full()) return this.#refuse(observation, this.#bufferFull())
    let content: Buffer
    try {
      content = this.#admission.admit(exchange, routingKey, body, options)
    } catch (err) {
      return this.#refuse(observation, err as Error)
    }
    const writable = open && this.#hasRoom(content.length)
    if (!writable && this.#queue.full(content.length)) return this.#refuse(observation, this.#bufferFull())

    const now = Date.now()
    const contentType = content === body ? 'application/octet-stream' : 'application/json'
    const timestamp = Math.floor(now / 1000)
    // Without options (the common case) one literal, no spread: this runs for every message.
    const properties: PublishOptions =
      options === undefined
        ? { persistent: true, mandatory: true, contentType, timestamp, messageId: this.#ids.next() }
        : { persistent: true, mandatory: true, contentType, timestamp, ...options }
    properties.messageId ??= this.#ids.next()
    const timeout = options?.timeout ?? this.#options.confirmTimeout
    const signal = options?.signal
    if (observation !== null) this.#telemetry?.admitted(observation, properties, content.length)
    const entry = new Entry(exchange, routingKey, content, properties, timeout, now + timeout, signal)
    entry.observation = observation
    const promise = entry.promise()
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#finish(entry, abortedError(signal))
        return promise
      }
      entry.onAbort = () => this.#finish(entry, abortedError(signal))
      signal.addEventListener('abort', entry.onAbort, { once: true })
    }
    if (entry.deadline < this.#nextDeadline) this.#nextDeadline = entry.deadline
    this.#ticker.arm(timeout)
    if (writable) this.#write(this.#ch as ConfirmChannel, entry)
    else this.#queue.add(entry)
    return promise
  }

  /**
   * Publishes a request and resolves with its reply's body (JSON decoded), over direct reply-to: a consumer of
   * `@fastify-amqp/consumer` answers with its handler's return value. Rejects with a coded error that says whether
   * the request may have been handled (`mayHaveArrived`): timeout, remote error, lost channel, unroutable.
   */
  request<T = unknown, E extends string = string, R extends string = string>(
    exchange: E,
    routingKey: R,
    body: BodyFor<E, R>,
    options?: RequestOptions
  ): Promise<T> {
    if (this.#refusal !== null) return Promise.reject(withArrival(new PublisherClosedError(this.#refusal), false))
    this.#requester ??= new Requester(
      this.#amqp,
      this.#admission,
      this.#log,
      this.#options.requestTimeout,
      this.#telemetry
    )
    return this.#requester.request(exchange, routingKey, body, options) as Promise<T>
  }

  /** Rejected before it became an entry (closed, buffer full, refused by the checks). */
  #refuse(observation: PublishObservation | null, error: Error): Promise<PublishReceipt> {
    if (observation !== null) this.#telemetry?.settled(observation, error)
    return Promise.reject(error)
  }

  /** Stops accepting, waits up to closeTimeout for outstanding confirms, rejects what is left, closes the channel. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#refusal ??= 'close() was called'
    await this.#requester?.close()
    if (this.pending > 0) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.#onIdle = resolve
        timer = setTimeout(resolve, this.#options.closeTimeout)
      })
      clearTimeout(timer)
      this.#onIdle = null
    }
    if (this.pending > 0) {
      this.#log.warn({ unconfirmed: this.pending }, 'amqp publisher closed with unconfirmed messages')
      this.#failAll(
        `closed after waiting ${this.#options.closeTimeout} ms for the confirm (the message may still arrive)`
      )
    }
    this.#ticker.stop()
    this.#recycler.cancel()
    this.#telemetry?.close()
    this.#managed.off('open', this.#onOpen)
    this.#managed.off('lost', this.#onLost)
    this.#connection.off('closed', this.#onConnectionClosed)
    this.#connection.off('connected', this.#onConnected)
    this.#detach()
    await this.#managed.close()
  }

  /** Whether the next publish may be written now rather than queued: a channel, no push-back, no probe. */
  #open(): boolean {
    return this.#ch !== null && !this.#draining && !this.#paused && this.#probe === 0
  }

  /** Within the in-flight bound (a message larger than the byte bound still goes out alone). */
  #hasRoom(bytes: number): boolean {
    if (this.#window.size >= this.#options.maxInflightMessages) return false
    return this.#inflightBytes === 0 || this.#inflightBytes + bytes <= this.#options.maxInflightBytes
  }

  #write(ch: ConfirmChannel, entry: Entry): void {
    let ok: boolean
    try {
      ok = ch.publish(entry.exchange, entry.routingKey, entry.content, entry.properties)
    } catch (err) {
      if ((err as Error).name === 'IllegalOperationError') {
        // The channel is closing under us: keep the message for the next one ('lost' follows).
        this.#detach()
        this.#queue.addFirst([entry])
      } else {
        // amqplib could not encode it (headers, a property out of range): nothing was written.
        this.#finish(entry, new InvalidPropertiesError('properties', (err as Error).message))
      }
      return
    }
    entry.state = SENT
    this.#window.push(entry)
    this.#inflight += 1
    this.#inflightBytes += entry.size
    if (this.#probe > 0) this.#probe -= 1
    if (!ok) this.#draining = true
    else if (this.#flush !== null) this.#flush()
  }

  /** Writes queued entries in order until the socket pushes back, the in-flight bound is reached or the channel goes. */
  #pump(): void {
    const ch = this.#ch
    while (ch !== null && this.#ch === ch && !this.#draining && !this.#paused) {
      // Probing: one suspect on the wire at a time, so a refusal names its culprit.
      if (this.#probe > 0 && this.#inflight > 0) break
      const head = this.#queue.peek()
      if (head === undefined || !this.#hasRoom(head.size)) break
      this.#write(ch, this.#queue.next() as Entry)
    }
    if (this.#full && !this.#queue.full()) this.#full = false
  }

  #bufferFull(): Error {
    const { maxMessages, maxBytes } = this.#options
    if (!this.#full) {
      this.#full = true // warn once per episode, not once per refused message
      this.#log.warn({ queued: this.#queue.count, bytes: this.#queue.bytes }, 'amqp publish buffer full')
    }
    return shedError(`${this.#queue.count}/${maxMessages} messages, ${this.#queue.bytes}/${maxBytes} bytes`)
  }

  /** Settles an entry once, keeping the counters true to its state; the rejection says whether it may still arrive. */
  #finish(entry: Entry, error: Error | null, verdict: Verdict = UNKNOWN): void {
    const state = entry.state
    if (state === DONE) return
    if (state === QUEUED) this.#queue.forget(entry)
    else if (state === SENT) this.#leaveSent(entry)
    entry.state = DONE
    if (entry.onAbort !== null) entry.signal?.removeEventListener('abort', entry.onAbort)
    const { resolve, reject } = entry
    const messageId = entry.properties.messageId as string
    const observation = entry.observation
    entry.release()
    if (error === null) resolve({ messageId })
    else reject(withArrival(error, mayHaveArrived(entry, verdict, state === SENT)))
    if (observation !== null) this.#telemetry?.settled(observation, error)
    if (this.#onIdle !== null && this.#inflight + this.#queue.count === 0) this.#onIdle()
  }

  /** Out of the in-flight counts (settled, or back to the buffer); its tag stays in the window. */
  #leaveSent(entry: Entry): void {
    this.#inflight -= 1
    this.#inflightBytes -= entry.size
    this.#window.forget(entry)
  }

  #confirmed(entry: Entry, nack: boolean): void {
    if (!nack) {
      if (entry.returned) this.#finish(entry, new UnroutableError(entry.exchange, entry.routingKey), REJECTED)
      else this.#finish(entry, null)
      return
    }
    entry.nacks += 1
    if (!this.#options.retryNacked || entry.deadline <= Date.now()) {
      this.#finish(entry, new PublishNackError(entry.exchange, entry.routingKey), REJECTED)
      return
    }
    // Sent again on the fresh channel while its deadline allows (the sweep rejects it after).
    this.#leaveSent(entry)
    entry.state = NEW
    entry.returned = false
    this.#nacked.push(entry)
  }

  #onAck = (fields: ConfirmFields): void => {
    this.#window.confirm(fields.deliveryTag, fields.multiple, false)
    // Confirms make room under the in-flight bound, or end a probe step.
    if (this.#queue.count > 0) this.#pump()
  }

  #onNack = (fields: ConfirmFields): void => {
    this.#window.confirm(fields.deliveryTag, fields.multiple, true)
    if (this.#nacked.length > 0) {
      this.#queue.addFirst(this.#nacked)
      this.#nacked.length = 0
    }
    this.#recycleAfterNack()
  }

  /**
   * A nack means the broker could not store the message, and on RabbitMQ 3.10 often that it will
   * not on this channel: its quorum-queue state can go stale after a leader moved (a node stopped),
   * nacking every later publish on it. So nothing more is written here; the channel is closed (at
   * most once a second) and what it nacked or left unconfirmed goes out again on a fresh one.
   */
  #recycleAfterNack(): void {
    this.#recycle('amqp publisher: the broker nacked a publish; opening a fresh channel')
  }

  #recycle(why: string): void {
    if (this.#ch === null || this.#paused) return
    this.#paused = true
    // recycle() rather than a plain close: the managed channel re-opens at once, counting no failure.
    this.#log.warn({ inMs: this.#recycler.schedule(() => this.#managed.recycle()) }, why)
  }

  // RabbitMQ sends basic.return before the basic.ack of the same message: mark it, reject on the ack.
  #onReturn = (message: Message): void => {
    this.#window.markReturned(message.properties.messageId, message.fields.exchange, message.fields.routingKey)
  }

  #onDrain = (): void => {
    this.#draining = false
    this.#pump()
  }

  #onOpen = (ch: ConfirmChannel): void => {
    if (this.#ch !== null) this.#onLost({ error: null })
    this.#ch = ch
    this.#flush = burstFlusher(ch)
    this.#draining = false
    this.#paused = false
    ch.on('ack', this.#onAck)
    ch.on('nack', this.#onNack)
    ch.on('return', this.#onReturn)
    ch.on('drain', this.#onDrain)
    if (this.#queue.count > 0) this.#log.info({ queued: this.#queue.count }, 'amqp publisher channel open: flushing')
    this.#pump()
  }

  // The dead channel's delivery tags are void: what it did not confirm goes out again, first, same messageId.
  #onLost = (info: LostInfo): void => {
    this.#detach()
    this.#recycler.cancel()
    const alone = this.#window.size === 1
    const unconfirmed = this.#window.reset()
    for (const entry of unconfirmed) {
      this.#leaveSent(entry)
      entry.state = NEW
      entry.returned = false
    }
    const refusal = channelRefusal(info.reply, info.error)
    const { refused, resend, probe } = sortLoss(unconfirmed, refusal, alone)
    for (const [entry, error] of refused) this.#finish(entry, error, REFUSED)
    if (refusal?.kind === 'named') {
      // What waits in the buffer for the same exchange, or over the broker's stated limit, would close the next channel.
      this.#queue.forEach((entry) => {
        const error = entry.state === QUEUED ? refusal.errorFor(entry) : null
        if (error !== null) this.#finish(entry, error, REFUSED)
      })
      // Later publishes over the broker's limit are refused in publish(), not by closing another channel.
      if (refusal.maxMessageBytes !== undefined) this.#admission.brokerMaxMessageBytes = refusal.maxMessageBytes
    }
    if (refused.length > 0)
      this.#log.warn(
        { refused: refused.length },
        'amqp publisher: the broker closed the channel over messages it refuses: failed, not re-sent'
      )
    if (probe > 0) {
      this.#probe = probe
      this.#log.warn(
        { suspects: probe, err: refusal?.kind === 'unnamed' ? refusal.reply.text : undefined },
        'amqp publisher: the broker closed the channel over a publish; re-sending the suspects one at a time'
      )
    }
    this.#queue.addFirst(resend)
    // Those the broker may have stored before the close arrive twice, with the same messageId.
    if (resend.length > 0) this.#log.warn({ resend: resend.length }, 'amqp publisher channel lost: re-sending')
  }

  // A (re)connection may reach a broker with another max_message_size: forget the one learned.
  #onConnected = (): void => {
    this.#admission.brokerMaxMessageBytes = Number.POSITIVE_INFINITY
  }

  #detach(): void {
    const ch = this.#ch
    this.#ch = null
    this.#flush = null
    this.#draining = false
    this.#paused = false
    if (ch === null) return
    ch.off('ack', this.#onAck)
    ch.off('nack', this.#onNack)
    ch.off('return', this.#onReturn)
    ch.off('drain', this.#onDrain)
  }

  // The connection gave up (reconnect.maxAttempts) or was closed: nothing will go out any more.
  #onConnectionClosed = (info: { error?: string }): void => {
    this.#refusal ??= `the AMQP connection closed${info.error ? ` (${info.error})` : ''}`
    this.#failAll(this.#refusal)
  }

  #failAll(reason: string): void {
    const fail = (entry: Entry) => this.#finish(entry, new PublisherClosedError(reason), UNKNOWN)
    this.#window.forEach(fail)
    this.#queue.forEach(fail)
    this.#queue.clear()
  }

  // The ticker's sweep: one pass over what is pending, rather than a timer per message.
  #sweep = (): void => {
    const now = Date.now()
    // Every tag the bound allows is written and the oldest was settled without a confirm (expired,
    // aborted): this channel is not confirming. A fresh one frees the window; live entries go again.
    if (this.#window.size >= this.#options.maxInflightMessages && this.#window.headSettled())
      this.#recycle(
        'amqp publisher: the in-flight window is full and its oldest publish expired; opening a fresh channel'
      )
    if (this.pending === 0) {
      this.#nextDeadline = Number.POSITIVE_INFINITY
      this.#ticker.idle()
      return
    }
    // Thousands may be pending (a bulk load): skip the pass while none can have expired.
    if (now < this.#nextDeadline) return
    let next = Number.POSITIVE_INFINITY
    const expire = (entry: Entry) => {
      if (entry.state === DONE) return
      if (entry.deadline > now) {
        if (entry.deadline < next) next = entry.deadline
        return
      }
      // Nacked each time it went out: say so, rather than "no confirm came".
      if (entry.nacks > 0)
        this.#finish(
          entry,
          new PublishNackError(entry.exchange, entry.routingKey),
          entry.state === SENT ? UNKNOWN : REJECTED
        )
      else this.#finish(entry, new ConfirmTimeoutError(entry.timeout), UNKNOWN)
    }
    this.#window.forEach(expire)
    this.#queue.forEach(expire)
    this.#nextDeadline = next
    if (this.pending === 0) this.#ticker.idle()
  }
}
