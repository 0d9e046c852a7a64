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

/**
 * The schema's version, kept in SQLite's `PRAGMA user_version`. 0: no table yet, or the first schema
 * (status `placed` | `processed`); 1: status may also be `unconfirmed`.
 */
export const SCHEMA_VERSION = 1

const createOrders = (table: string) => `
  CREATE TABLE ${table} (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('placed', 'unconfirmed', 'processed')),
    customer TEXT NOT NULL,
    items TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    processed_at TEXT
  )
`

/** The orders table in one SQLite file. Synchronous by design: better-sqlite3 calls take microseconds. */
export class OrderStore {
  readonly #db: Database.Database
  readonly #insert: Database.Statement<[string, string, string, string]>
  readonly #remove: Database.Statement<[string]>
  readonly #markUnconfirmed: Database.Statement<[string]>
  readonly #markProcessed: Database.Statement<[string, string]>
  readonly #get: Database.Statement<[string], Row>
  readonly #status: Database.Statement<[string], { status: OrderStatus }>
  readonly #counts: Database.Statement<[], { status: OrderStatus; count: number }>

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.#db = new Database(path)
    // WAL: readers never wait for the writer; NORMAL is still durable across a process crash.
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma('synchronous = NORMAL')
    try {
      this.#migrate(path)
    } catch (err) {
      this.#db.close()
      throw err
    }
    this.#insert = this.#db.prepare(
      "INSERT INTO orders (id, status, customer, items, placed_at) VALUES (?, 'placed', ?, ?, ?)"
    )
    this.#remove = this.#db.prepare("DELETE FROM orders WHERE id = ? AND status = 'placed'")
    this.#markUnconfirmed = this.#db.prepare(
      "UPDATE orders SET status = 'unconfirmed' WHERE id = ? AND status = 'placed'"
    )
    this.#markProcessed = this.#db.prepare(
      "UPDATE orders SET status = 'processed', processed_at = ? WHERE id = ? AND status IN ('placed', 'unconfirmed')"
    )
    this.#get = this.#db.prepare('SELECT * FROM orders WHERE id = ?')
    this.#status = this.#db.prepare('SELECT status FROM orders WHERE id = ?')
    this.#counts = this.#db.prepare('SELECT status, COUNT(*) AS count FROM orders GROUP BY status')
  }

  /** Brings the file to SCHEMA_VERSION in one immediate transaction (a second process opening it waits). */
  #migrate(path: string): void {
    const version = () => this.#db.pragma('user_version', { simple: true }) as number
    if (version() === SCHEMA_VERSION) return
    this.#db
      .transaction(() => {
        const from = version()
        if (from > SCHEMA_VERSION) {
          throw new Error(`${path} has schema version ${from}; this demo knows versions up to ${SCHEMA_VERSION}`)
        }
        if (from === SCHEMA_VERSION) return
        const exists = this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'orders'").get()
        if (!exists) {
          this.#db.exec(createOrders('orders'))
        } else {
          // 0 -> 1: SQLite cannot change a CHECK constraint in place, so the table is rebuilt with the rows copied.
          this.#db.exec(`
            ${createOrders('orders_v1')};
            INSERT INTO orders_v1 (id, status, customer, items, placed_at, processed_at)
              SELECT id, status, customer, items, placed_at, processed_at FROM orders;
            DROP TABLE orders;
            ALTER TABLE orders_v1 RENAME TO orders;
          `)
        }
        this.#db.pragma(`user_version = ${SCHEMA_VERSION}`)
      })
      .immediate()
  }

  /** A new order, `placed`: its message is being published (or was confirmed). */
  place(id: string, input: OrderInput, placedAt: string): void {
    this.#insert.run(id, input.customer, JSON.stringify(input.items), placedAt)
  }

  /** Takes back a placed order whose message the broker certainly did not store. */
  remove(id: string): void {
    this.#remove.run(id)
  }

  /**
   * A placed order whose publish was rejected though its message may still arrive. False when the
   * order is no longer placed: its message did arrive and was processed before the rejection came.
   */
  markUnconfirmed(id: string): boolean {
    return this.#markUnconfirmed.run(id).changes === 1
  }

  /** Placed or unconfirmed -> processed. False when the order is unknown or was processed already (a duplicate). */
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

  status(id: string): OrderStatus | null {
    return this.#status.get(id)?.status ?? null
  }

  counts(): Record<OrderStatus, number> {
    const counts = { placed: 0, unconfirmed: 0, processed: 0 }
    for (const { status, count } of this.#counts.all()) counts[status] = count
    return counts
  }

  close(): void {
    if (this.#db.open) this.#db.close()
  }
}
