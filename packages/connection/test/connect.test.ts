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
      await channel.assertQueue(queue, { autoDelete: false, durable: false })
    },
  })
  const channel = await managed.waitForOpen()
  t.equal(setups, 1)
  t.teardown(() => channel.deleteQueue(queue).catch(() => {}))
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
  await channel.assertQueue(queue, { durable: false, autoDelete: false })
  t.teardown(() => channel.deleteQueue(queue).catch(() => {}))
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
  t.throws(() => app.amqp.channel(), { code: 'FST_AMQP_CLOSED' })
})
