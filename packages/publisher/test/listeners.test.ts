import amqp, { type ConnectionRole } from '@fastify-amqp/connection'
import { startFaultProxy } from '@fastify-amqp/test-broker'
import Fastify from 'fastify'
import t from 'tap'
import { publisher } from '../src/index.js'
import { rawChannel, SHARED_URL, tempQueue, uniqueName, until } from './fixtures/helpers.js'

t.test('listeners that throw or reject: the publisher heals and publishes across two cuts', async (t) => {
  const faults: unknown[] = []
  const record = (err: unknown) => faults.push(err)
  process.on('uncaughtException', record)
  process.on('unhandledRejection', record)
  t.teardown(() => {
    process.off('uncaughtException', record)
    process.off('unhandledRejection', record)
  })
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  t.teardown(() => proxy.close())
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'listeners')

  const lines: string[] = []
  const app = Fastify({ logger: { level: 'error', stream: { write: (line: string) => lines.push(line) } } })
  t.teardown(() => app.close())
  await app.register(amqp, {
    url: proxy.url(SHARED_URL),
    connectionName: uniqueName('listeners'),
    reconnect: { initialDelay: 20, maxDelay: 500 },
  })
  const thrown: Record<string, number> = {}
  for (const event of ['disconnected', 'reconnecting', 'connected'] as const) {
    app.amqp.on(event, () => {
      thrown[event] = (thrown[event] ?? 0) + 1
      throw new Error(`sync ${event} listener broke`)
    })
    app.amqp.on(event, async () => {
      throw new Error(`async ${event} listener broke`)
    })
    // Registered before the publisher's own listener on the same connection: it must still run.
    app.amqp.connection('publish').on(event, () => {
      throw new Error(`publish connection ${event} listener broke`)
    })
  }
  const connected: ConnectionRole[] = []
  app.amqp.on('connected', (info) => connected.push(info.role))
  await app.register(publisher)
  await app.ready()
  await t.resolves(app.publisher.publish('', queue, { n: 0 }), 'a publish before any cut')

  for (const cut of [1, 2]) {
    const before = connected.length
    proxy.cut()
    await until(() => connected.length >= before + 2, 15_000, `both connections back after cut ${cut}`)
    await until(() => app.amqp.status === 'connected', 15_000, 'status connected')
    await t.resolves(app.publisher.publish('', queue, { n: cut }), `cut ${cut}: the publish resolves`)
    t.equal(thrown.connected, cut * 2, `cut ${cut}: the throwing connected listener ran for both connections`)
    t.same(faults, [], `cut ${cut}: no uncaught exception or unhandled rejection`)
  }

  const failed = (event: string) =>
    lines.filter((line) => (JSON.parse(line) as { msg: string }).msg === `amqp '${event}' listener failed`).length
  // Each cut: sync + async on app.amqp for both roles, plus the publish connection's own listener.
  await until(() => failed('connected') >= 10, 5_000, 'every failed connected listener logged')
  t.ok(failed('disconnected') >= 10, 'failed disconnected listeners logged')
  t.ok(failed('reconnecting') >= 10, 'failed reconnecting listeners logged')
  const { messageCount } = await channel.checkQueue(queue)
  t.equal(messageCount, 3, 'all three publishes are in the queue')
  t.same(faults, [])
})
