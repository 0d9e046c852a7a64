import { DONE, type Entry, SENT } from './entry.js'
import { Queue } from './queue.js'

/**
 * The entries written on one channel, in delivery-tag order. The broker numbers a channel's
 * publishes 1, 2, 3... and confirms them singly or "all up to n" (multiple), so the head has
 * tag `lwm` and tag t sits t - lwm places behind it: no Map, no per-message callback.
 */
export class ConfirmWindow {
  #entries = new Queue<Entry>()
  #lwm = 1
  readonly #settle: (entry: Entry, nack: boolean) => void

  constructor(settle: (entry: Entry, nack: boolean) => void) {
    this.#settle = settle
  }

  /** Records a written entry: its delivery tag is lwm + its place in the window. */
  push(entry: Entry): void {
    this.#entries.push(entry)
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

  /**
   * basic.return: marks the oldest unconfirmed entry with this messageId, exchange and routing key; false if none.
   * All three, because callers reuse ids (an idempotency key sent to two routing keys): by id alone the stored
   * copy would be rejected and the dropped one resolve.
   */
  markReturned(messageId: string | undefined, exchange: string, routingKey: string): boolean {
    const entries = this.#entries
    for (let i = 0; i < entries.length; i++) {
      const entry = entries.at(i) as Entry
      if (
        entry.state === SENT &&
        !entry.returned &&
        entry.properties.messageId === messageId &&
        entry.routingKey === routingKey &&
        entry.exchange === exchange
      ) {
        entry.returned = true
        return true
      }
    }
    return false
  }

  /** The channel is gone: hands back its unconfirmed entries in order and starts over at tag 1. */
  reset(): Entry[] {
    const unconfirmed = this.#entries.take().filter((entry) => entry.state === SENT)
    this.#lwm = 1
    return unconfirmed
  }

  forEach(fn: (entry: Entry) => void): void {
    this.#entries.forEach(fn)
  }
}
