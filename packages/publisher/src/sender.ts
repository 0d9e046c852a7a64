import type { AmqpClient, ConfirmChannel, ManagedChannel } from '@fastify-amqp/connection'
import type { Message } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import { mayHaveArrived, REFUSED, REJECTED, UNKNOWN, type Verdict } from './arrival.js'
import { burstFlusher } from './burst-flush.js'
import { type CloseReply, channelRefusal } from './channel-refusal.js'
import { ConfirmWindow } from './confirm-window.js'
import { DONE, type Entry, NEW, QUEUED, SENT } from './entry.js'
import { InvalidPropertiesError, PublisherClosedError, PublishNackError, UnroutableError } from './errors.js'
import { expireDue } from './expiry.js'
import { sortLoss } from './loss.js'
import type { ResolvedPublisherOptions } from './options.js'
import { Recycler } from './recycler.js'
import { abortedError, shedError, withArrival } from './rejections.js'
import { SendQueue } from './send-queue.js'
import type { PublisherTelemetryHooks } from './telemetry-hooks.js'
import { Ticker } from './ticker.js'

interface ConfirmFields {
  deliveryTag: number
  multiple: boolean
}

interface LostInfo {
  error: string | null
  /** The broker's Channel.Close, when it closed the channel. */
  reply?: CloseReply | null
}

type SenderOptions = Pick<
  ResolvedPublisherOptions,
  'confirmTimeout' | 'maxMessages' | 'maxBytes' | 'maxInflightMessages' | 'maxInflightBytes' | 'retryNacked'
>

/**
 * The publisher's entries from acceptance to settlement, on one managed confirm channel: written in order
 * within the in-flight bound, matched to their confirms by delivery tag, kept in a bounded buffer while no
 * channel is up, written again on the next channel when one dies before confirming them, and settled once
 * each (confirm, nack, return, deadline, abort, close). It owns every count of what is pending.
 */
export class Sender {
  readonly #log: FastifyBaseLogger
  readonly #options: SenderOptions
  readonly #managed: ManagedChannel<ConfirmChannel>
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
  /** No pending entry's deadline is earlier than this: until then a sweep has nothing to expire. */
  #nextDeadline = Number.POSITIVE_INFINITY
  #onIdle: (() => void) | null = null
  #full = false
  /** A nack came, or the window filled with expired publishes: nothing more is written here; a fresh channel is on its way. */
  #paused = false
  readonly #recycler = new Recycler()
  /** Entries nacked by the current confirm event, put back in the buffer together, in order. */
  readonly #nacked: Entry[] = []
  readonly #telemetry: PublisherTelemetryHooks | null
  /** Told the broker's max_message_size when a close stated it, so later publishes over it are refused up front. */
  readonly #onBrokerLimit: (bytes: number) => void

  constructor(
    amqp: AmqpClient,
    options: SenderOptions,
    log: FastifyBaseLogger,
    telemetry: PublisherTelemetryHooks | null,
    onBrokerLimit: (bytes: number) => void
  ) {
    this.#options = options
    this.#log = log
    this.#telemetry = telemetry
    this.#onBrokerLimit = onBrokerLimit
    this.#queue = new SendQueue(options.maxMessages, options.maxBytes)
    this.#ticker = new Ticker(options.confirmTimeout, this.#sweep)
    this.#managed = amqp.channel({ confirm: true, name: 'publisher' })
    this.#managed.on('open', this.#onOpen)
    this.#managed.on('lost', this.#onLost)
  }

  /** Accepted and not settled yet: written and awaiting a confirm, plus buffered. */
  get pending(): number {
    return this.#inflight + this.#queue.count
  }

  get buffered(): number {
    return this.#queue.count
  }

  get bufferedBytes(): number {
    return this.#queue.bytes
  }

  get inflight(): number {
    return this.#inflight
  }

  /**
   * Checked before any work is done for a publish: the buffer-full error when it could only be buffered and the
   * buffer is full, else null.
   */
  shed(): Error | null {
    return !this.#writableNow() && this.#queue.full() ? this.#bufferFull() : null
  }

  /** Where a publish of `bytes` goes: written now, buffered, or refused (the buffer-full error). */
  place(bytes: number): 'write' | 'buffer' | Error {
    if (this.#writableNow() && this.#hasRoom(bytes)) return 'write'
    return this.#queue.full(bytes) ? this.#bufferFull() : 'buffer'
  }

  /** Takes an accepted entry (placed by place()): written now or buffered; its deadline and signal are watched. */
  submit(entry: Entry, write: boolean): void {
    const signal = entry.signal
    if (signal !== undefined) {
      if (signal.aborted) {
        this.finish(entry, abortedError(signal))
        return
      }
      entry.onAbort = () => this.finish(entry, abortedError(signal))
      signal.addEventListener('abort', entry.onAbort, { once: true })
    }
    if (entry.deadline < this.#nextDeadline) this.#nextDeadline = entry.deadline
    this.#ticker.arm(entry.timeout)
    if (write) this.#write(this.#ch as ConfirmChannel, entry)
    else this.#queue.add(entry)
  }

  /** Settles an entry once, keeping the counters true to its state; the rejection says whether it may still arrive. */
  finish(entry: Entry, error: Error | null, verdict: Verdict = UNKNOWN): void {
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

  /** Rejects everything pending with PublisherClosedError(reason): nothing more will go out. */
  failAll(reason: string): void {
    const fail = (entry: Entry) => this.finish(entry, new PublisherClosedError(reason), UNKNOWN)
    this.#window.forEach(fail)
    this.#queue.forEach(fail)
    this.#queue.clear()
  }

  /** Waits up to `ms` for outstanding confirms, rejects what is left, closes the channel. */
  async close(ms: number): Promise<void> {
    if (this.pending > 0) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.#onIdle = resolve
        timer = setTimeout(resolve, ms)
      })
      clearTimeout(timer)
      this.#onIdle = null
    }
    if (this.pending > 0) {
      this.#log.warn({ unconfirmed: this.pending }, 'amqp publisher closed with unconfirmed messages')
      this.failAll(`closed after waiting ${ms} ms for the confirm (the message may still arrive)`)
    }
    this.#ticker.stop()
    this.#recycler.cancel()
    this.#managed.off('open', this.#onOpen)
    this.#managed.off('lost', this.#onLost)
    this.#detach()
    await this.#managed.close()
  }

  /** Whether the next publish may be written now rather than queued: a channel, no push-back, no probe, none queued. */
  #writableNow(): boolean {
    return this.#ch !== null && !this.#draining && !this.#paused && this.#probe === 0 && this.#queue.count === 0
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
        this.finish(entry, new InvalidPropertiesError('properties', (err as Error).message))
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

  /** Out of the in-flight counts (settled, or back to the buffer); its tag stays in the window. */
  #leaveSent(entry: Entry): void {
    this.#inflight -= 1
    this.#inflightBytes -= entry.size
    this.#window.forget(entry)
  }

  #confirmed(entry: Entry, nack: boolean): void {
    if (!nack) {
      if (entry.returned) this.finish(entry, new UnroutableError(entry.exchange, entry.routingKey), REJECTED)
      else this.finish(entry, null)
      return
    }
    entry.nacks += 1
    if (!this.#options.retryNacked || entry.deadline <= Date.now()) {
      this.finish(entry, new PublishNackError(entry.exchange, entry.routingKey), REJECTED)
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
    for (const [entry, error] of refused) this.finish(entry, error, REFUSED)
    if (refusal?.kind === 'named') {
      // What waits in the buffer for the same exchange, or over the broker's stated limit, would close the next channel.
      this.#queue.forEach((entry) => {
        const error = entry.state === QUEUED ? refusal.errorFor(entry) : null
        if (error !== null) this.finish(entry, error, REFUSED)
      })
      // Later publishes over the broker's limit are refused in publish(), not by closing another channel.
      if (refusal.maxMessageBytes !== undefined) this.#onBrokerLimit(refusal.maxMessageBytes)
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
    const next = expireDue(now, [this.#window, this.#queue], (entry, error, verdict) =>
      this.finish(entry, error, verdict)
    )
    this.#nextDeadline = next
    if (this.pending === 0) this.#ticker.idle()
  }
}
