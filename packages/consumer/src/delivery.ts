import type { Channel, ConsumeMessage } from 'amqplib'

// Spent slots at the head of the delivery list are dropped once there are this many.
const COMPACT_AFTER = 1024

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
  /** Every delivery not yet passed by a multiple ack, in delivery-tag order. */
  #order: (Delivery | undefined)[] = []
  #head = 0
  /** Acked by the consumer, not yet sent to the broker. */
  #acks: Delivery[] = []
  #flushScheduled = false

  constructor(channel: Channel) {
    this.channel = channel
  }

  track(delivery: Delivery): void {
    this.#order.push(delivery)
  }

  /** Queues the ack; false when the channel is gone (nothing will be sent). */
  ack(delivery: Delivery): boolean {
    if (!this.open) return false
    this.#acks.push(delivery)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      queueMicrotask(this.flushAcks)
    }
    return true
  }

  /** Sends the queued acks now (also before the channel is closed on purpose). */
  flushAcks = (): void => {
    this.#flushScheduled = false
    const acks = this.#acks
    if (acks.length === 0) return
    this.#acks = []
    if (!this.open) return
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
  }

  /** Moves past the settled deliveries at the head; returns the last acked one among them, or null. */
  #advance(): Delivery | null {
    const order = this.#order
    let last: Delivery | null = null
    while (this.#head < order.length) {
      const delivery = order[this.#head] as Delivery
      if (!delivery.settled) break
      if (!delivery.ackSent && delivery.ackQueued) {
        delivery.ackSent = true
        last = delivery
      }
      order[this.#head] = undefined
      this.#head += 1
    }
    if (this.#head === order.length) {
      this.#order = []
      this.#head = 0
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= order.length) {
      this.#order = order.slice(this.#head)
      this.#head = 0
    }
    return last
  }
}

/** A message received on one channel, until it is acked, nacked or given up. */
export class Delivery {
  readonly state: ChannelState
  readonly raw: ConsumeMessage
  #settled = false
  /** ack() was called: the ack waits in its ChannelState until the turn ends. */
  ackQueued = false
  /** The broker was sent an ack covering it (single or multiple). */
  ackSent = false
  /** Given up at the drain timeout: never settled, the broker redelivers it after the channel closes. */
  #abandoned = false
  // Created on first use: most handlers never look at their signal.
  #controller: AbortController | null = null
  #abortReason: Error | null = null

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
    return this.state.open && !this.#settled && !this.#abandoned
  }

  abort(reason: Error): void {
    if (this.#abortReason) return
    this.#abortReason = reason
    this.#controller?.abort(reason)
  }

  abandon(reason: Error): void {
    this.#abandoned = true
    this.abort(reason)
  }

  /** Acks on the delivering channel (sent at the end of this turn); false when that channel is gone. */
  ack(): boolean {
    if (!this.settleable) return false
    this.#settled = true
    this.ackQueued = true
    return this.state.ack(this)
  }

  nack(requeue: boolean): boolean {
    if (!this.settleable) return false
    this.#settled = true
    try {
      this.state.channel.nack(this.raw, false, requeue)
      return true
    } catch {
      return false
    }
  }
}

/** The try number carried in the x-attempt header (1 when absent or malformed). */
export function attemptOf(raw: ConsumeMessage): number {
  const value = raw.properties.headers?.['x-attempt']
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN
  return Number.isInteger(n) && n >= 1 ? n : 1
}
