/** Running totals at one moment: every order placed, every one processed, messages in dead-letter queues. */
export interface Totals {
  placed: number
  processed: number
  /** null while the broker cannot be asked: the last known value stands. */
  deadLettered: number | null
}

/** Per-second rates over the interval that ended at `at` (epoch ms), and whether the broker was there at its end. */
export interface RatePoint {
  at: number
  placed: number
  processed: number
  deadLettered: number
  brokerUp: boolean
}

/**
 * The last `size` rate points, from totals sampled at a steady pace. A total that went down (an order taken
 * back, a dead-letter queue emptied by hand) counts as 0, not as a negative rate.
 */
export class RateHistory {
  readonly #size: number
  readonly #points: RatePoint[] = []
  #last: { at: number; placed: number; processed: number; deadLettered: number } | null = null

  constructor(size: number) {
    this.#size = size
  }

  /** Adds the point for the interval since the previous totals; the first totals only set the start. */
  add(at: number, totals: Totals, brokerUp: boolean): RatePoint | null {
    const deadLettered = totals.deadLettered ?? this.#last?.deadLettered ?? 0
    const current = { at, placed: totals.placed, processed: totals.processed, deadLettered }
    const last = this.#last
    this.#last = current
    if (last === null || at <= last.at) return null
    const seconds = (at - last.at) / 1_000
    // One decimal is plenty for a chart, and keeps the history the page receives small.
    const rate = (now: number, before: number) => Math.round((Math.max(0, now - before) / seconds) * 10) / 10
    const point = {
      at,
      placed: rate(current.placed, last.placed),
      processed: rate(current.processed, last.processed),
      deadLettered: rate(current.deadLettered, last.deadLettered),
      brokerUp,
    }
    this.#points.push(point)
    if (this.#points.length > this.#size) this.#points.shift()
    return point
  }

  points(): RatePoint[] {
    return [...this.#points]
  }
}
