// Compact the backing array once this many slots at its head are spent.
const COMPACT_AFTER = 1024

/** A FIFO with O(1) shift and indexed access, for thousands of entries per second without GC churn. */
export class Queue<T> {
  #items: (T | undefined)[] = []
  #head = 0

  get length(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    this.#items.push(item)
  }

  peek(): T | undefined {
    return this.#items[this.#head]
  }

  /** The item `index` places behind the head. */
  at(index: number): T | undefined {
    return index < 0 ? undefined : this.#items[this.#head + index]
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head] = undefined
    this.#head += 1
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** Puts `items` in front, in their order (rare: after a channel loss). */
  prepend(items: T[]): void {
    if (items.length === 0) return
    this.#items = items.concat(this.#items.slice(this.#head) as T[])
    this.#head = 0
  }

  /** Empties the queue and returns what it held, in order. */
  take(): T[] {
    const items = this.#items.slice(this.#head) as T[]
    this.#items = []
    this.#head = 0
    return items
  }

  forEach(fn: (item: T) => void): void {
    for (let i = this.#head; i < this.#items.length; i++) fn(this.#items[i] as T)
  }
}
