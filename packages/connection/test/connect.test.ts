import t from 'tap'
import { buildApp, once, uniqueName } from './fixtures/helpers.js'

t.test('connects both connections and reports connected', async (t) => {
  const app = await buildApp(t, { connectionName: uniqueName('connect') })
  t.equal(app.amqp.status, 'connected')
  const health = app.amqp.health()
  t.equal(health.status, 'connected')
  t.equal(health.connections.publish.status, 'connected')
  t.equal(health.connections.consume.status, 'connected')
  t.equal(health.reconnects, 0)
  t.type(health.connectedSince, 'string')
})

t.test('a managed channel works and its setup runs before it is handed out', async (t) => {
  const app = await buildApp(t)
  const queue = uniqueName('q')
  let setups = 0
  const managed = app.amqp.channel({
    prefetch: 5,
    setup: async (channel) => {
      setups += 1
      // Exclusive: gone with the connection, and no transient non-exclusive queue (RabbitMQ 4.3 denies those).
      await channel.assertQueue(queue, { exclusive: true })
    },
  })
  const channel = await managed.waitForOpen()
  t.equal(setups, 1)
  channel.sendToQueue(queue, Buffer.from('hello'))
  const got = await new Promise<string>((resolve) => {
    void channel.consume(queue, (msg) => {
      if (!msg) return
      channel.ack(msg)
      resolve(msg.content.toString())
    })
  })
  t.equal(got, 'hello')
})

t.test('a confirm channel rides the publish connection and confirms', async (t) => {
  const app = await buildApp(t)
  const managed = app.amqp.channel({ confirm: true })
  const channel = await managed.waitForOpen()
  const queue = uniqueName('q')
  await channel.assertQueue(queue, { exclusive: true })
  await new Promise<void>((resolve, reject) =>
    channel.sendToQueue(queue, Buffer.from('x'), {}, (err) => (err ? reject(err) : resolve()))
  )
  const check = await channel.checkQueue(queue)
  t.equal(check.messageCount, 1)
})

t.test('app.close() closes channels, then connections; status closed; twice is safe', async (t) => {
  const app = await buildApp(t)
  const managed = app.amqp.channel()
  await managed.waitForOpen()
  const closed = once(app.amqp, 'closed')
  await app.close()
  await closed
  t.equal(app.amqp.status, 'closed')
  t.equal(managed.channel, null)
  t.equal(managed.closed, true)
  await t.resolves(app.amqp.close())
  t.throws(() => app.amqp.channel(), { code: 'FST_AMQP_CONNECTION_CLOSED' })
})

t.test('a topology the broker rejects fails register at once, naming the queue', async (t) => {
  const queue = uniqueName('topo406')
  const admin = await buildApp(t)
  const ch = await admin.amqp.channel().waitForOpen()
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-max-length': 1 } })
  t.teardown(() => ch.deleteQueue(queue))
  const started = Date.now()
  const err = await buildApp(t, { topology: { queues: [{ name: queue }] } }).catch((e: Error) => e)
  t.match(err, { code: 'FST_AMQP_CONNECTION_CONNECT_FAILED' })
  t.match((err as Error).message, new RegExp(`queue "${queue}".*inequivalent arg 'x-max-length'`))
  t.ok(Date.now() - started < 5_000, 'without waiting for connectTimeout')
})

t.test('many managed channels on one connection raise no listener-leak warning', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(w.name)
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const app = await buildApp(t)
  const channels = Array.from({ length: 30 }, (_, i) => app.amqp.channel({ name: `c${i}` }))
  await Promise.all(channels.map((c) => c.waitForOpen()))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(warnings, [])
})
