import type { ConfirmChannel } from '@fastify-amqp/connection'

// A fresh channel (after a nack, or a window of expired publishes) at most this often (ms).
const RECYCLE_INTERVAL = 1_000

/**
 * Closes the publisher's channel on purpose, so the managed channel opens a fresh one, at most
 * once a second: a broker that nacks everything must not be answered with a channel storm.
 */
export class Recycler {
  #timer: NodeJS.Timeout | null = null
  #last = 0

  /** ms until `channel` will be closed. */
  schedule(channel: ConfirmChannel): number {
    this.cancel()
    const wait = Math.max(0, this.#last + RECYCLE_INTERVAL - Date.now())
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#last = Date.now()
      channel.close().catch(() => {})
    }, wait)
    return wait
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}
