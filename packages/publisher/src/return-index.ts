import type { Entry } from './entry.js'

/**
 * Written mandatory entries by messageId, so a basic.return finds its publish without scanning
 * the confirm window. Callers reuse ids (an idempotency key sent to two routing keys), so a
 * return is matched on its exchange and routing key too, oldest first, among the few entries
 * that share its id.
 */
export class ReturnIndex {
  readonly #byId = new Map<string, Entry | Entry[]>()

  add(entry: Entry): void {
    const id = entry.properties.messageId as string
    const held = this.#byId.get(id)
    if (held === undefined) this.#byId.set(id, entry)
    else if (Array.isArray(held)) held.push(entry)
    else this.#byId.set(id, [held, entry])
  }

  /** Takes an entry out (settled, or back in the buffer); call before its properties are released. */
  delete(entry: Entry): void {
    const id = entry.properties.messageId as string
    const held = this.#byId.get(id)
    if (held === entry) {
      this.#byId.delete(id)
    } else if (Array.isArray(held)) {
      const at = held.indexOf(entry)
      if (at >= 0) held.splice(at, 1)
      if (held.length === 1) this.#byId.set(id, held[0] as Entry)
    }
  }

  /** The oldest entry with this id, exchange and routing key not returned yet, or undefined. */
  find(messageId: string | undefined, exchange: string, routingKey: string): Entry | undefined {
    if (messageId === undefined) return undefined
    const held = this.#byId.get(messageId)
    if (held === undefined) return undefined
    for (const entry of Array.isArray(held) ? held : [held]) {
      if (!entry.returned && entry.routingKey === routingKey && entry.exchange === exchange) return entry
    }
    return undefined
  }

  clear(): void {
    this.#byId.clear()
  }
}
