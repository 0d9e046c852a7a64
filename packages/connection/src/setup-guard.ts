/** A broker denial of a deprecated feature, as it closed the connection. */
export interface Denial {
  feature: string
  cause: Error
}

/**
 * Tells which channel setup made the broker close a connection for a deprecated feature (541).
 * The close names no channel, and every setup in flight sees the same "Channel ended", so:
 * with one setup running, it is the culprit; with several, each becomes a suspect, and setups
 * then run one at a time until the culprit repeats the denial alone. One per connection.
 */
export class SetupGuard {
  #running = new Set<object>()
  #suspects = new Set<object>()
  #blamed = new Map<object, Denial>()
  #serial: Promise<unknown> = Promise.resolve()

  /** Runs one channel's setup, alone while there are suspects. */
  run<T>(owner: object, setup: () => Promise<T>): Promise<T> {
    if (this.#suspects.size === 0) return this.#track(owner, setup)
    const turn = this.#serial.then(() => this.#track(owner, setup))
    this.#serial = turn.catch(() => {})
    return turn
  }

  /** The broker closed the connection for a deprecated feature: pin it on the running setup, if there is one. */
  denied(denial: Denial): void {
    if (this.#running.size === 1) {
      const owner = this.#running.values().next().value as object
      this.#blamed.set(owner, denial)
      this.#suspects.delete(owner)
      return
    }
    for (const owner of this.#running) this.#suspects.add(owner)
  }

  /** The denial pinned on this owner's setup, handed out once. */
  takeBlame(owner: object): Denial | undefined {
    const denial = this.#blamed.get(owner)
    this.#blamed.delete(owner)
    return denial
  }

  /** The owner is gone for good: it is no longer a suspect holding the others back. */
  forget(owner: object): void {
    this.#suspects.delete(owner)
    this.#blamed.delete(owner)
  }

  async #track<T>(owner: object, setup: () => Promise<T>): Promise<T> {
    this.#running.add(owner)
    try {
      const result = await setup()
      this.#suspects.delete(owner)
      return result
    } finally {
      this.#running.delete(owner)
    }
  }
}
