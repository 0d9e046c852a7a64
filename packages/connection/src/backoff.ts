export type Jitter = 'full' | 'equal' | 'none'

export interface BackoffOptions {
  /** First delay ceiling in ms. */
  initialDelay: number
  /** Largest delay in ms. */
  maxDelay: number
  /** Growth per failed attempt. */
  factor: number
  /** 'full': uniform in [0, ceiling]; 'equal': [ceiling/2, ceiling]; 'none': the ceiling. */
  jitter: Jitter
}

/** Delay before retry number `attempt` (1-based): exponential ceiling, capped, then jittered. */
export function backoffDelay(options: BackoffOptions, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1)
  const ceiling = Math.min(options.maxDelay, options.initialDelay * options.factor ** exponent)
  switch (options.jitter) {
    case 'full':
      return Math.round(random() * ceiling)
    case 'equal':
      return Math.round(ceiling / 2 + (random() * ceiling) / 2)
    default:
      return Math.round(ceiling)
  }
}

/**
 * Counts failed attempts and forgets them once a connection has stayed up for
 * `stableAfter` ms, so a flapping link keeps backing off while a long-lived one
 * that drops reconnects at the first, shortest delay.
 */
export class Backoff {
  #attempt = 0
  #upSince: number | null = null

  constructor(
    readonly options: BackoffOptions & { stableAfter: number },
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random
  ) {}

  get attempt(): number {
    return this.#attempt
  }

  /** The next delay; counts one more attempt. */
  next(): number {
    this.#attempt += 1
    return backoffDelay(this.options, this.#attempt, this.random)
  }

  /** The link is up: start the stability clock. */
  up(): void {
    this.#upSince = this.now()
  }

  /** The link went down: reset the count if it had been stable long enough. */
  down(): void {
    if (this.#upSince !== null && this.now() - this.#upSince >= this.options.stableAfter) this.#attempt = 0
    this.#upSince = null
  }

  reset(): void {
    this.#attempt = 0
    this.#upSince = null
  }
}
