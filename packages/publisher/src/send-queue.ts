import { type Entry, NEW, QUEUED } from './entry.js'
import { Queue } from './queue.js'

/**
 * Messages waiting to be written (no channel, the socket pushing back, or to be sent again
 * after a channel loss), bounded by count and bytes. Settled entries leave the counts at once
 * and the queue when the writer reaches them.
 */
export class SendQueue {
  readonly #entries = new Queue<Entry>()
  readonly #maxMessages: number
  readonly #maxBytes: number
  count = 0
  bytes = 0

  constructor(maxMessages: number, maxBytes: number) {
    this.#maxMessages = maxMessages
    this.#maxBytes = maxBytes
  }

  /** Whether the count bound is reached, or one more message of `bytes` would pass the byte bound. */
  full(bytes = 0): boolean {
    return this.count >= this.#maxMessages || this.bytes + bytes > this.#maxBytes
  }

  add(entry: Entry): void {
    this.#count(entry)
    this.#entries.push(entry)
  }

  /** Puts entries back in front, in their order (re-sends go before anything buffered). */
  addFirst(entries: Entry[]): void {
    for (const entry of entries) this.#count(entry)
    this.#entries.prepend(entries)
  }

  /** The entry next() would return, left in place; undefined when none is left. */
  peek(): Entry | undefined {
    for (;;) {
      const entry = this.#entries.peek()
      if (entry === undefined || entry.state === QUEUED) return entry
      this.#entries.shift() // settled while it waited
    }
  }

  /** The next entry to write, out of the queue and the counts; undefined when none is left. */
  next(): Entry | undefined {
    for (;;) {
      const entry = this.#entries.shift()
      if (entry === undefined || entry.state === QUEUED) {
        if (entry !== undefined) this.forget(entry)
        return entry
      }
    }
  }

  /** Takes a settled entry out of the counts (it leaves the queue when next() reaches it). */
  forget(entry: Entry): void {
    this.count -= 1
    this.bytes -= entry.size
    entry.state = NEW
  }

  forEach(fn: (entry: Entry) => void): void {
    this.#entries.forEach(fn)
  }

  clear(): void {
    this.#entries.take()
  }

  #count(entry: Entry): void {
    entry.state = QUEUED
    this.count += 1
    this.bytes += entry.size
  }
}
