import { randomFillSync } from 'node:crypto'

const ID_BYTES = 16
const POOL_IDS = 256

/**
 * Unique message ids: 128 random bits as 22 base64url characters, drawn from a pool of random
 * bytes refilled once per 256 ids. Shorter than a UUID on purpose: RabbitMQ handles a message
 * whose encoded properties fit in 64 bytes markedly faster (an Erlang heap binary), and with a
 * 36-character UUID the default properties no longer fit.
 */
export class MessageIds {
  readonly #pool = Buffer.allocUnsafe(ID_BYTES * POOL_IDS)
  #offset = this.#pool.length

  next(): string {
    if (this.#offset === this.#pool.length) {
      randomFillSync(this.#pool)
      this.#offset = 0
    }
    const start = this.#offset
    this.#offset += ID_BYTES
    return this.#pool.toString('base64url', start, this.#offset)
  }
}
