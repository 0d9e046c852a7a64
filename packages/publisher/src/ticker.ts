// The sweep runs every tenth of the shortest timeout (so at most 10% late), within these bounds.
const MIN_TICK = 5
const MAX_TICK = 250

function tickFor(timeout: number): number {
  return Math.min(MAX_TICK, Math.max(MIN_TICK, Math.floor(timeout / 10)))
}

/** One interval for every publish timeout, rather than a timer per message; runs only while armed. */
export class Ticker {
  readonly #baseTick: number
  readonly #fn: () => void
  #tick: number
  #timer: NodeJS.Timeout | null = null

  constructor(defaultTimeout: number, fn: () => void) {
    this.#baseTick = tickFor(defaultTimeout)
    this.#tick = this.#baseTick
    this.#fn = fn
  }

  /** Makes sure the sweep runs, often enough for `timeout`. */
  arm(timeout: number): void {
    if (timeout < this.#tick * 10) {
      const tick = tickFor(timeout)
      if (tick < this.#tick) {
        this.#tick = tick
        this.stop()
      }
    }
    // Not unref'd: a pending publish keeps the process alive until it settles (bounded by its timeout).
    this.#timer ??= setInterval(this.#fn, this.#tick)
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** Nothing left to watch: stop, and forget any shorter tick a past publish asked for. */
  idle(): void {
    this.stop()
    this.#tick = this.#baseTick
  }
}
