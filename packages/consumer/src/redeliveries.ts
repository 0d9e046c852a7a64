/** How many message ids one consumer remembers; past it the least recently counted are forgotten. */
export const REDELIVERY_MEMORY = 10_000

/**
 * Per consumer, in memory: for each messageId, how many of its deliveries were lost while their handler ran
 * (the channel or connection died under it, or the broker cancelled the consumer). A classic queue counts
 * nothing itself, so this is what tells a crash loop from a first redelivery there. Bounded: a capped map in
 * least-recently-counted order. It knows only this process's losses: a process that dies takes its counts
 * with it, and several instances each count their own.
 */
export class Redeliveries {
  readonly #counts = new Map<string, number>()
  readonly #limit: number

  constructor(limit = REDELIVERY_MEMORY) {
    this.#limit = limit
  }

  get size(): number {
    return this.#counts.size
  }

  /** A delivery of this message was lost with its handler running. */
  lost(messageId: string | undefined): void {
    if (typeof messageId !== 'string') return
    const count = (this.#counts.get(messageId) ?? 0) + 1
    // Re-inserted, so the Map's order is the order of the latest loss: the oldest goes first.
    this.#counts.delete(messageId)
    this.#counts.set(messageId, count)
    if (this.#counts.size > this.#limit) this.#counts.delete(this.#counts.keys().next().value as string)
  }

  /** Deliveries of this message lost with their handler running, as far as this consumer saw. */
  count(messageId: string | undefined): number {
    if (typeof messageId !== 'string' || this.#counts.size === 0) return 0
    return this.#counts.get(messageId) ?? 0
  }

  /** The message was settled (handled, retried or dead-lettered): its count is over. */
  settled(messageId: string | undefined): void {
    if (typeof messageId === 'string' && this.#counts.size > 0) this.#counts.delete(messageId)
  }
}
