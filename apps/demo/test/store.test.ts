import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { OrderStore, SCHEMA_VERSION } from '../src/store.js'
import { tempDir } from './fixtures/helpers.js'

const input = { customer: 'ada', items: [{ sku: 'A-1', quantity: 2 }] }

t.test('an order goes from placed to processed once', async (t) => {
  const store = new OrderStore(':memory:')
  t.teardown(() => store.close())
  store.place('o1', input, '2026-01-01T00:00:00.000Z')
  t.same(store.get('o1'), {
    id: 'o1',
    status: 'placed',
    customer: 'ada',
    items: input.items,
    placedAt: '2026-01-01T00:00:00.000Z',
    processedAt: null,
  })
  t.same(store.counts(), { placed: 1, unconfirmed: 0, processed: 0 })
  t.equal(store.markProcessed('o1', '2026-01-01T00:00:01.000Z'), true)
  t.equal(store.markProcessed('o1', '2026-01-01T00:00:02.000Z'), false, 'a redelivery changes nothing')
  t.match(store.get('o1'), { status: 'processed', processedAt: '2026-01-01T00:00:01.000Z' })
  t.equal(store.markProcessed('unknown', 'x'), false)
  t.equal(store.get('unknown'), null)
  t.same(store.counts(), { placed: 0, unconfirmed: 0, processed: 1 })
})

t.test('remove takes back only a placed order', async (t) => {
  const store = new OrderStore(':memory:')
  t.teardown(() => store.close())
  store.place('a', input, 'x')
  store.place('b', input, 'x')
  store.markProcessed('b', 'y')
  store.remove('a')
  store.remove('b')
  t.equal(store.get('a'), null)
  t.match(store.get('b'), { status: 'processed' })
  t.throws(() => store.place('b', input, 'x'), /UNIQUE/, 'ids are unique')
})

t.test('orders survive a reopen of the same file, whose directory is created', async (t) => {
  const path = join(tempDir(t), 'nested', 'dir', 'orders.db')
  const first = new OrderStore(path)
  first.place('kept', input, 'x')
  first.close()
  first.close()
  const second = new OrderStore(path)
  t.teardown(() => second.close())
  t.match(second.get('kept'), { id: 'kept', status: 'placed', customer: 'ada' })
})

t.test('an unconfirmed order is kept, and processed once like a placed one', async (t) => {
  const store = new OrderStore(':memory:')
  t.teardown(() => store.close())
  store.place('u', input, 'x')
  t.equal(store.markUnconfirmed('u'), true)
  t.equal(store.status('u'), 'unconfirmed')
  t.equal(store.markUnconfirmed('u'), false, 'only a placed order turns unconfirmed')
  store.remove('u')
  t.equal(store.status('u'), 'unconfirmed', 'remove leaves an unconfirmed order: its message may still arrive')
  t.same(store.counts(), { placed: 0, unconfirmed: 1, processed: 0 })
  t.equal(store.markProcessed('u', 'y'), true, 'its message arrived: reconciled')
  t.equal(store.markProcessed('u', 'z'), false, 'a duplicate changes nothing')
  t.match(store.get('u'), { status: 'processed', processedAt: 'y' })

  store.place('p', input, 'x')
  store.markProcessed('p', 'y')
  t.equal(store.markUnconfirmed('p'), false, 'processed before its publish rejected: stays processed')
  t.equal(store.status('p'), 'processed')
  t.equal(store.status('unknown'), null)
})

// The table as the first version of the demo created it, without a schema version.
const VERSION_0 = `
  CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('placed', 'processed')),
    customer TEXT NOT NULL,
    items TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    processed_at TEXT
  )
`

t.test('a database of the first schema is migrated, its orders kept', async (t) => {
  const path = join(tempDir(t), 'orders.db')
  const old = new Database(path)
  old.exec(VERSION_0)
  const insert = old.prepare('INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)')
  insert.run('a', 'placed', 'ada', JSON.stringify(input.items), 'x', null)
  insert.run('b', 'processed', 'bob', JSON.stringify(input.items), 'x', 'y')
  old.close()

  const store = new OrderStore(path)
  t.match(store.get('a'), { status: 'placed', customer: 'ada', items: input.items })
  t.match(store.get('b'), { status: 'processed', processedAt: 'y' })
  t.equal(store.markUnconfirmed('a'), true, 'the new status is allowed')
  store.close()

  const check = new Database(path, { readonly: true })
  t.teardown(() => check.close())
  t.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  t.same(
    check.prepare('SELECT id, status FROM orders ORDER BY id').all(),
    [
      { id: 'a', status: 'unconfirmed' },
      { id: 'b', status: 'processed' },
    ],
    'kept across a reopen'
  )
  t.same(
    check.prepare('SELECT name FROM sqlite_master').all(),
    [{ name: 'orders' }, { name: 'sqlite_autoindex_orders_1' }],
    'the rebuild left no other table'
  )
  const reopened = new OrderStore(path)
  t.teardown(() => reopened.close())
  t.same(reopened.counts(), { placed: 0, unconfirmed: 1, processed: 1 }, 'a current file opens as it is')
})

t.test('a database of a newer schema is refused', async (t) => {
  const path = join(tempDir(t), 'orders.db')
  const newer = new Database(path)
  newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
  newer.close()
  t.throws(() => new OrderStore(path), { message: /schema version 2; this demo knows versions up to 1/ })
})
