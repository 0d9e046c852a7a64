import type { Channel, ConsumeMessage } from 'amqplib'
import { type Headers, header, headersOf } from './headers.js'
import { delayQueueName } from './options.js'

/**
 * One amqplib channel as the consumer saw it: deliveries belong to it and may only be settled on it.
 * Acks are coalesced: those made in one turn of the event loop go out together, as one `multiple`
 * ack for the run of settled deliveries at the head (in tag order) and single acks for the rest.
 */
export class ChannelState {
  readonly channel: Channel
  open = true
  consumerTag: string | null = null
  readonly inFlight = new Set<Delivery>()
  /** Unsettled deliveries in delivery-tag order, plus those settled since the last flush. */
  #order: Delivery[] = []
  #head = 0
  /** Acked by the consumer, not yet sent to the broker. */
  #acks: Delivery[] = []
  #flushScheduled = false

  constructor(channel: Channel) {
    this.channel = channel
  }

  /** Deliveries remembered for ack coalescing (stays within the unsettled ones after each flush). */
  get tracked(): number {
    return this.#order.length - this.#head
  }

  track(delivery: Delivery): void {
    this.#order.push(delivery)
  }

  /** Queues the ack; false when the channel is gone (nothing will be sent). */
  ack(delivery: Delivery): boolean {
    if (!this.open) return false
    this.#acks.push(delivery)
    this.#schedule()
    return true
  }

  /** A delivery was nacked or rejected (sent at once): the list forgets it at the next flush. */
  released(): void {
    this.#schedule()
  }

  #schedule(): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    queueMicrotask(this.flushAcks)
  }

  /** Sends the queued acks now (also before the channel is closed on purpose). */
  flushAcks = (): void => {
    this.#flushScheduled = false
    const acks = this.#acks
    this.#acks = []
    if (!this.open) {
      this.#order = []
      this.#head = 0
      return
    }
    try {
      const last = this.#advance()
      // Tags up to `last` are all settled (acked here or nacked already): one frame acks them.
      if (last !== null) this.channel.ack(last.raw, true)
      for (const delivery of acks) {
        if (!delivery.ackSent) {
          delivery.ackSent = true
          this.channel.ack(delivery.raw)
        }
      }
    } catch {
      // The channel closed under us (amqplib throws "Channel closed"): the broker redelivers.
    }
    this.#compact()
  }

  /** Moves past the settled deliveries at the head; returns the last acked one among them, or null. */
  #advance(): Delivery | null {
    const order = this.#order
    let last: Delivery | null = null
    while (this.#head < order.length) {
      const delivery = order[this.#head] as Delivery
      if (!delivery.settled) break
      if (delivery.ackQueued && !delivery.ackSent) {
        delivery.ackSent = true
        last = delivery
      }
      this.#head += 1
    }
    return last
  }

  // Behind an unsettled head only the unsettled need remembering: a multiple ack must not pass them, and
  // settled ones dropped from the middle change nothing. So the list stays within the prefetch window.
  #compact(): void {
    const order = this.#order
    if (this.#head === order.length) this.#order = []
    else this.#order = order.slice(this.#head).filter((delivery) => !delivery.settled)
    this.#head = 0
  }
}

/** What became of a delivery, as telemetry reports it (`fastify_amqp.outcome`). */
export type Outcome = 'ack' | 'retry' | 'dead-letter' | 'reject' | 'requeue' | 'abandoned'

/** A message received on one channel, until it is acked, nacked or given up. */
export class Delivery {
  readonly state: ChannelState
  readonly raw: ConsumeMessage
  #settled = false
  /** ack() was called: the ack waits in its ChannelState until the turn ends. */
  ackQueued = false
  /** The broker was sent an ack covering it (single or multiple). */
  ackSent = false
  /** Given up (channel lost, broker cancel, drain timeout): never settled, the broker redelivers it. */
  #givenUp = false
  // Created on first use: most handlers never look at their signal.
  #controller: AbortController | null = null
  #abortReason: Error | null = null
  #lost: AbortController | null = null
  /** What became of it, set where that is decided (for telemetry); null while undecided. */
  outcome: Outcome | null = null
  /** Why it was dead-lettered, when it was. */
  deathReason: string | null = null
  /** What its handler threw, or why it was refused unread. */
  failure: unknown = undefined
  /** trace_id and span_id for message.log, while a span follows it. */
  logFields: { trace_id: string; span_id: string } | null = null

  constructor(state: ChannelState, raw: ConsumeMessage) {
    this.state = state
    this.raw = raw
    state.track(this)
  }

  /** Acked or nacked: nothing more will be sent for it. */
  get settled(): boolean {
    return this.#settled
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#abortReason) this.#controller.abort(this.#abortReason)
    }
    return this.#controller.signal
  }

  /** True while an ack or nack would still reach the channel that delivered it. */
  get settleable(): boolean {
    return this.state.open && !this.#settled && !this.#givenUp
  }

  /** Aborts once the delivery is given up: ends waits (a republish backoff) that could no longer settle it. */
  get lost(): AbortSignal {
    if (!this.#lost) {
      this.#lost = new AbortController()
      if (this.#givenUp) this.#lost.abort(this.#abortReason)
    }
    return this.#lost.signal
  }

  /** Aborts the handler's signal only: the delivery stays settleable (a handler timeout still retries it). */
  abort(reason: Error): void {
    if (this.#abortReason) return
    this.#abortReason = reason
    this.#controller?.abort(reason)
  }

  /**
   * Never settled from here on: the broker redelivers it or has taken it back. It stays unsettled in the
   * ack order too, so no multiple ack covers its tag (the broker may still count it as ours).
   */
  giveUp(reason: Error): void {
    if (!this.#settled) this.outcome = 'abandoned'
    this.#givenUp = true
    this.abort(reason)
    this.#lost?.abort(reason)
  }

  /** Acks on the delivering channel (sent at the end of this turn); false when that channel is gone. */
  ack(): boolean {
    if (!this.settleable) return false
    this.#settled = true
    this.ackQueued = true
    // A retry or dead letter is acked once its copy is confirmed: that stays its outcome.
    this.outcome ??= 'ack'
    return this.state.ack(this)
  }

  /**
   * Hands it back unhandled, not for a fault of its own (a drain, a closed publisher): basic.nack, which
   * RabbitMQ 4.3 does not count towards a quorum queue's delivery limit.
   */
  requeue(): boolean {
    const released = this.#release((channel) => channel.nack(this.raw, false, true))
    if (released) this.outcome = 'requeue'
    return released
  }

  /** Gives it up (deadLetter: false): basic.reject without requeue, dropped or taken by the queue's own DLX. */
  reject(): boolean {
    const released = this.#release((channel) => channel.reject(this.raw, false))
    // deadLetter: false dead-letters by basic.reject (to the queue's own DLX, if any).
    if (released && this.outcome !== 'dead-letter') this.outcome = 'reject'
    return released
  }

  #release(send: (channel: Channel) => void): boolean {
    if (!this.settleable) return false
    this.#settled = true
    this.state.released()
    try {
      send(this.state.channel)
      return true
    } catch {
      return false
    }
  }
}

/**
 * Which try this delivery is: the count in `x-attempt`, believed only on a retry copy that came back from one
 * of its queue's delay queues (see cameBackFromDelay); 1 otherwise (absent, malformed, or set by whoever
 * published the message), so a message gets all its tries. The one place that decides.
 */
export function attemptOf(raw: ConsumeMessage): number {
  const headers = headersOf(raw.properties)
  const value = header(headers, 'x-attempt')
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN
  if (!Number.isInteger(n) || n <= 1) return 1
  return cameBackFromDelay(raw, headers) ? n : 1
}

/**
 * The check behind a believed count, kept small so it can follow the delay hop when that changes. A retry
 * copy waits in `<queue>.delay.<ms>` and, when its TTL runs out, the broker dead-letters it to `<queue>`
 * through the default exchange, writing the hop as the newest `x-death` entry (reason `expired`, the delay
 * queue's name): true for that, on 4.x and 3.10 alike. The copy itself never carries an earlier x-death
 * (republish drops it), so the entry is the broker's. Neither broker strips an x-death that a client
 * publishes straight to a queue, though: this stops counts set by accident, not one forged with its x-death
 * by a publisher allowed to write to the default exchange (see the README, "Which try it is").
 */
export function cameBackFromDelay(raw: ConsumeMessage, headers: Headers): boolean {
  const { exchange, routingKey: queue } = raw.fields
  if (exchange !== '') return false
  const deaths = header(headers, 'x-death')
  const newest: unknown = Array.isArray(deaths) ? deaths[0] : undefined
  if (typeof newest !== 'object' || newest === null) return false
  const death = newest as Headers
  const from = header(death, 'queue')
  if (header(death, 'reason') !== 'expired' || typeof from !== 'string') return false
  const ms = Number(from.slice(from.lastIndexOf('.') + 1))
  return Number.isInteger(ms) && ms >= 0 && delayQueueName(queue, ms) === from
}
