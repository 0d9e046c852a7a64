import { join } from 'node:path'
import t from 'tap'
import { OrderStore } from '../src/store.js'
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
  t.same(store.counts(), { placed: 1, processed: 0 })
  t.equal(store.markProcessed('o1', '2026-01-01T00:00:01.000Z'), true)
  t.equal(store.markProcessed('o1', '2026-01-01T00:00:02.000Z'), false, 'a redelivery changes nothing')
  t.match(store.get('o1'), { status: 'processed', processedAt: '2026-01-01T00:00:01.000Z' })
  t.equal(store.markProcessed('unknown', 'x'), false)
  t.equal(store.get('unknown'), null)
  t.same(store.counts(), { placed: 0, processed: 1 })
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
