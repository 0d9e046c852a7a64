import { listSharedConnectionNames } from '@fastify-amqp/test-broker'
import t from 'tap'
import { buildApp, captureLogs, proxied, SHARED_URL, uniqueName, until } from './fixtures/helpers.js'

t.test('past channelsPerConnection channels, another consume connection opens and carries the rest', async (t) => {
  const name = uniqueName('pool')
  const app = await buildApp(t, { connectionName: name, channelsPerConnection: 2 })
  const channels = Array.from({ length: 5 }, (_, i) => app.amqp.channel({ name: `c${i}` }))
  await Promise.all(channels.map((managed) => managed.waitForOpen()))
  const names = channels.map((managed) => managed.connection.name)
  t.same(names, ['consume', 'consume', 'consume-2', 'consume-2', 'consume-3'], 'two per connection, in order')
  t.same(app.amqp.health().consumePool, { connections: 3, channels: 5, channelsPerConnection: 2 })
  t.equal(app.amqp.connection('consume'), channels[0]?.connection, "connection('consume') is the first")
  const listed = await listSharedConnectionNames(name)
  t.same(listed.sort(), [`${name}:consume`, `${name}:consume-2`, `${name}:consume-3`, `${name}:publish`])

  // A channel closed for good frees its slot: the next one goes there, not to a fourth connection.
  await channels[1]?.close()
  const again = app.amqp.channel({ name: 'again' })
  await again.waitForOpen()
  t.equal(again.connection.name, 'consume')
  t.equal(app.amqp.health().consumePool.connections, 3)
})

t.test('a cut heals every connection of the pool; health reads the worst of them', async (t) => {
  const proxy = await proxied(t)
  const app = await buildApp(t, { url: proxy.url(SHARED_URL), channelsPerConnection: 1 })
  let setups = 0
  const channels = Array.from({ length: 3 }, () =>
    app.amqp.channel({
      setup: () => {
        setups += 1
      },
    })
  )
  await Promise.all(channels.map((managed) => managed.waitForOpen()))
  t.equal(setups, 3)
  proxy.cut()
  await until(() => app.amqp.health().connections.consume.status !== 'connected', 10_000, 'the pool to see the cut')
  await until(() => setups === 6, 15_000, 'every channel set up again')
  await Promise.all(channels.map((managed) => managed.waitForOpen()))
  await until(() => app.amqp.status === 'connected', 15_000, 'all connections back')
  const { consume } = app.amqp.health().connections
  t.equal(consume.status, 'connected')
  t.equal(consume.reconnects, 3, 'reconnects summed over the pool')
  t.equal(app.amqp.health().reconnects, 4, 'publish included')
})

t.test("a broker allowing fewer channels than channelsPerConnection: the pool takes the broker's limit", async (t) => {
  const { capture, logger } = captureLogs()
  // The client asks for channel_max 3 at tune: the agreed value is the smaller one, as with a broker set so.
  const url = `${SHARED_URL}?channelMax=3`
  const app = await buildApp(t, { url, channelsPerConnection: 100 }, { logger })
  const channels = Array.from({ length: 5 }, () => app.amqp.channel())
  await Promise.all(channels.map((managed) => managed.waitForOpen()))
  t.same(
    channels.map((managed) => managed.connection.name),
    ['consume', 'consume', 'consume', 'consume-2', 'consume-2']
  )
  t.equal(app.amqp.health().consumePool.channelsPerConnection, 3)
  t.match(capture.text(), /fewer channels per connection than channelsPerConnection/)
})

t.test('channelsPerConnection must be a positive integer', async (t) => {
  for (const bad of [0, 1.5, -1, Number.NaN]) {
    await t.rejects(buildApp(t, { channelsPerConnection: bad }), { code: 'FST_AMQP_CONNECTION_INVALID_OPTION' })
  }
})
