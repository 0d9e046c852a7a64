import type { Channel, ConsumeMessage } from 'amqplib'

/** One amqplib channel as the consumer saw it: deliveries belong to it and may only be settled on it. */
export class ChannelState {
  readonly channel: Channel
  open = true
  consumerTag: string | null = null
  readonly inFlight = new Set<Delivery>()

  constructor(channel: Channel) {
    this.channel = channel
  }
}

/** A message received on one channel, until it is acked, nacked or given up. */
export class Delivery {
  readonly state: ChannelState
  readonly raw: ConsumeMessage
  #settled = false
  /** Given up at the drain timeout: never settled, the broker redelivers it after the channel closes. */
  #abandoned = false
  // Created on first use: most handlers never look at their signal.
  #controller: AbortController | null = null
  #abortReason: Error | null = null

  constructor(state: ChannelState, raw: ConsumeMessage) {
    this.state = state
    this.raw = raw
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

  /** Acks on the delivering channel; false (and nothing sent) when that channel is gone. */
  ack(): boolean {
    if (!this.settleable) return false
    this.#settled = true
    try {
      this.state.channel.ack(this.raw)
      return true
    } catch {
      // The channel closed under us (amqplib throws "Channel closed"): the broker redelivers.
      return false
    }
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
