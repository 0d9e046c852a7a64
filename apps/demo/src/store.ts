import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { Order, OrderInput, OrderStatus } from './schemas.js'

interface Row {
  id: string
  status: OrderStatus
  customer: string
  items: string
  placed_at: string
  processed_at: string | null
}

/** The orders table in one SQLite file. Synchronous by design: better-sqlite3 calls take microseconds. */
export class OrderStore {
  readonly #db: Database.Database
  readonly #insert: Database.Statement<[string, string, string, string]>
  readonly #remove: Database.Statement<[string]>
  readonly #markProcessed: Database.Statement<[string, string]>
  readonly #get: Database.Statement<[string], Row>
  readonly #counts: Database.Statement<[], { status: OrderStatus; count: number }>

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.#db = new Database(path)
    // WAL: readers never wait for the writer; NORMAL is still durable across a process crash.
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma('synchronous = NORMAL')
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS orders (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('placed', 'processed')),
        customer TEXT NOT NULL,
        items TEXT NOT NULL,
        placed_at TEXT NOT NULL,
        processed_at TEXT
      )
    `)
    this.#insert = this.#db.prepare(
      "INSERT INTO orders (id, status, customer, items, placed_at) VALUES (?, 'placed', ?, ?, ?)"
    )
    this.#remove = this.#db.prepare("DELETE FROM orders WHERE id = ? AND status = 'placed'")
    this.#markProcessed = this.#db.prepare(
      "UPDATE orders SET status = 'processed', processed_at = ? WHERE id = ? AND status = 'placed'"
    )
    this.#get = this.#db.prepare('SELECT * FROM orders WHERE id = ?')
    this.#counts = this.#db.prepare('SELECT status, COUNT(*) AS count FROM orders GROUP BY status')
  }

  place(id: string, input: OrderInput, placedAt: string): void {
    this.#insert.run(id, input.customer, JSON.stringify(input.items), placedAt)
  }

  /** Takes back an order whose message the broker did not confirm. */
  remove(id: string): void {
    this.#remove.run(id)
  }

  /** False when the order is unknown or was processed already (a redelivery). */
  markProcessed(id: string, processedAt: string): boolean {
    return this.#markProcessed.run(processedAt, id).changes === 1
  }

  get(id: string): Order | null {
    const row = this.#get.get(id)
    if (!row) return null
    return {
      id: row.id,
      status: row.status,
      customer: row.customer,
      items: JSON.parse(row.items) as Order['items'],
      placedAt: row.placed_at,
      processedAt: row.processed_at,
    }
  }

  counts(): Record<OrderStatus, number> {
    const counts = { placed: 0, processed: 0 }
    for (const { status, count } of this.#counts.all()) counts[status] = count
    return counts
  }

  close(): void {
    if (this.#db.open) this.#db.close()
  }
}
