// A fresh channel (after a nack, or a window of expired publishes) at most this often (ms).
const RECYCLE_INTERVAL = 1_000

/**
 * Closes the publisher's channel on purpose, so the managed channel opens a fresh one, at most
 * once a second: a broker that nacks everything must not be answered with a channel storm.
 */
export class Recycler {
  #timer: NodeJS.Timeout | null = null
  #last = 0

  /** Calls `close` (the managed channel's recycle()) once the interval allows; returns the wait in ms. */
  schedule(close: () => void): number {
    this.cancel()
    const wait = Math.max(0, this.#last + RECYCLE_INTERVAL - Date.now())
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#last = Date.now()
      close()
    }, wait)
    return wait
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}
