import t from 'tap'
import { Type } from 'typebox'
import { buildAsyncApi, type DescribedConsumer } from '../src/asyncapi.js'
import { resolveConsumer, resolvePluginOptions } from '../src/options.js'
import { describeConsumer } from '../src/registry.js'
import type { ConsumeOptions, ConsumeSchema } from '../src/types.js'
import { parseAsyncApi } from './fixtures/asyncapi.js'

// The document is built from declarations only (no broker): app.consumers entries as the plugin makes them.
function declared(options: Omit<ConsumeOptions, 'handler'>): DescribedConsumer {
  const def = resolveConsumer({ ...options, handler: () => {} }, resolvePluginOptions({ retry: false }))
  const schema = options.schema as ConsumeSchema | undefined
  return { info: describeConsumer(def, schema, { active: false, inFlight: 0, suspended: null, paused: false }), schema }
}

t.test('names that differ only in characters AsyncAPI keys cannot hold get keys of their own', async (t) => {
  const doc = buildAsyncApi({
    consumers: [declared({ queue: 'a/b' }), declared({ queue: 'a_b' }), declared({ queue: 'a:b' })],
    publisherSchemas: {},
  })
  const byAddress = Object.fromEntries(Object.entries(doc.channels).map(([id, channel]) => [channel.address, id]))
  t.same(byAddress['a/b'], 'a_b')
  t.same(byAddress.a_b, 'a_b_2')
  t.same(byAddress['a:b'], 'a_b_3')
  t.same(Object.keys(doc.operations), ['a_b.receive', 'a_b_2.receive', 'a_b_3.receive'])
  t.same((await parseAsyncApi(doc)).errors, [])
})

t.test(
  'a route the publisher describes carries its message; one it does not, every consumer bound to it',
  async (t) => {
    const Placed = Type.Object({ id: Type.String() }, { $id: 'OrderPlaced' })
    const doc = buildAsyncApi({
      consumers: [
        declared({ queue: 'billing', bindings: [{ exchange: 'orders', routingKey: 'order.placed' }] }),
        declared({ queue: 'audit-1', bindings: [{ exchange: 'events', routingKey: 'any' }] }),
        declared({
          queue: 'audit-2',
          bindings: [
            { exchange: 'events', routingKey: 'any' },
            { exchange: 'headers', arguments: { 'x-match': 'all' } },
          ],
        }),
      ],
      publisherSchemas: { 'orders:order.placed': Placed },
    })
    t.same(Object.keys(doc.channels['orders.order.placed']?.messages ?? {}), ['orders.order.placed.published'])
    t.equal(doc.components.messages['orders.order.placed.published']?.name, 'OrderPlaced', "the schema's $id names it")
    t.same(Object.keys(doc.channels['events.any']?.messages ?? {}), ['audit-1.message', 'audit-2.message'])
    t.same(doc.channels['audit-2']?.['x-bindings'], [
      { exchange: 'events', routingKey: 'any', channel: 'events.any' },
      { exchange: 'headers', routingKey: '', channel: 'headers.', arguments: { 'x-match': 'all' } },
    ])
    t.same((await parseAsyncApi(doc)).errors, [])
  }
)

t.test(
  'a queue only published to (default exchange) is named, not described as the consumer declares queues',
  async (t) => {
    const Body = Type.Object({ id: Type.String() })
    const doc = buildAsyncApi({
      consumers: [declared({ queue: 'consumed' })],
      publisherSchemas: { ':elsewhere': Body, ':consumed': Body },
    })
    t.same(doc.channels.elsewhere?.bindings.amqp.queue, { name: 'elsewhere' })
    t.same(doc.channels.consumed?.bindings.amqp.queue, {
      name: 'consumed',
      durable: true,
      exclusive: false,
      autoDelete: false,
    })
    t.same(
      Object.values(doc.operations).map((op) => [op.action, op.channel.$ref]),
      [
        ['send', '#/channels/elsewhere'],
        ['send', '#/channels/consumed'],
        ['receive', '#/channels/consumed'],
      ]
    )
    t.same((await parseAsyncApi(doc)).errors, [])
  }
)
