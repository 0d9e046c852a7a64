import { DONE, type Entry, SENT } from './entry.js'
import { Queue } from './queue.js'
import { ReturnIndex } from './return-index.js'

/**
 * The entries written on one channel, in delivery-tag order. The broker numbers a channel's
 * publishes 1, 2, 3... and confirms them singly or "all up to n" (multiple), so the head has
 * tag `lwm` and tag t sits t - lwm places behind it: no map of tags, no per-message callback.
 */
export class ConfirmWindow {
  #entries = new Queue<Entry>()
  #lwm = 1
  readonly #returns = new ReturnIndex()
  readonly #settle: (entry: Entry, nack: boolean) => void

  constructor(settle: (entry: Entry, nack: boolean) => void) {
    this.#settle = settle
  }

  /** Delivery tags written and not confirmed yet, settled entries (timed out, aborted) included. */
  get size(): number {
    return this.#entries.length
  }

  /** The oldest tag's entry was settled without its confirm (timed out, aborted): the broker owes it one still. */
  headSettled(): boolean {
    return this.#entries.peek()?.state === DONE
  }

  /** Records a written entry: its delivery tag is lwm + its place in the window. */
  push(entry: Entry): void {
    this.#entries.push(entry)
    // Only a mandatory publish can come back as basic.return.
    if (entry.properties.mandatory === true) this.#returns.add(entry)
  }

  /** An entry leaves SENT (settled, or back to the buffer): a return can no longer be about it. */
  forget(entry: Entry): void {
    if (entry.properties.mandatory === true) this.#returns.delete(entry)
  }

  /** basic.ack / basic.nack: settles the entry with `tag`, or every one up to it when `multiple`. */
  confirm(tag: number, multiple: boolean, nack: boolean): void {
    const entries = this.#entries
    if (multiple) {
      while (this.#lwm <= tag) {
        const entry = entries.shift()
        if (entry === undefined) break
        this.#lwm += 1
        if (entry.state === SENT) this.#settle(entry, nack)
      }
      return
    }
    const entry = entries.at(tag - this.#lwm)
    if (entry !== undefined && entry.state === SENT) this.#settle(entry, nack)
    // Slide past settled entries at the head, so the window only holds what may still be confirmed.
    while (entries.length > 0 && (entries.peek() as Entry).state === DONE) {
      entries.shift()
      this.#lwm += 1
    }
  }

  /** basic.return: marks the oldest unconfirmed entry with this messageId, exchange and routing key; false if none. */
  markReturned(messageId: string | undefined, exchange: string, routingKey: string): boolean {
    const entry = this.#returns.find(messageId, exchange, routingKey)
    if (entry === undefined || entry.state !== SENT) return false
    entry.returned = true
    return true
  }

  /** The channel is gone: hands back its unconfirmed entries in order and starts over at tag 1. */
  reset(): Entry[] {
    const unconfirmed = this.#entries.take().filter((entry) => entry.state === SENT)
    this.#returns.clear()
    this.#lwm = 1
    return unconfirmed
  }

  forEach(fn: (entry: Entry) => void): void {
    this.#entries.forEach(fn)
  }
}
