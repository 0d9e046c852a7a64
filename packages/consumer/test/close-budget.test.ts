import amqp from '@fastify-amqp/connection'
import { startFaultProxy } from '@fastify-amqp/test-broker'
import Fastify from 'fastify'
import t from 'tap'
import { consumer } from '../src/index.js'
import {
  buildApp,
  captureLogs,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test('close with a handler that never ends, default options: resolves, and the message is back', async (t) => {
  const queue = uniqueName('close-hang')
  const broker = await openBroker(t)
  let started = 0
  const { capture, logger } = captureLogs('info')
  const app = await buildApp(t, {
    logger,
    declare: (app) => {
      // Deaf to its signal: nothing but the broker can take this message back.
      app.consume(queue, { retry: false }, async () => {
        started += 1
        await new Promise(() => {})
      })
    },
  })
  t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
  t.notOk(
    capture.find((line) => String(line.msg).includes('does not fit')),
    'the default drainTimeout fits: no warning'
  )
  await broker.send(queue, { stuck: true })
  await until(() => started === 1, 10_000, 'the handler running')
  // Rejected with Fastify's "Plugin did not start in time" before: drainTimeout equalled pluginTimeout.
  await t.resolves(app.close(), 'close() resolves within Fastify pluginTimeout')
  t.match(
    capture.find((line) => line.msg === 'amqp consumers: drain timed out; unfinished messages are left to the broker'),
    { abandoned: 1, drainTimeout: 9_000 },
    'the drain stopped 1 s before pluginTimeout'
  )
  t.equal(app.amqp.status, 'closed', 'and the connections closed')
  t.equal(await settledCount(queue), 1, 'not acked: back in its queue')
  t.equal(started, 1)
})

t.test('a configured drainTimeout that does not fit: a warning at startup, pluginTimeout wins', async (t) => {
  const queue = uniqueName('close-budget')
  const broker = await openBroker(t)
  let started = 0
  const { capture, logger } = captureLogs('info')
  const app = Fastify({ logger, pluginTimeout: 3_000 })
  t.teardown(() => app.close())
  await app.register(amqp, { url: SHARED_URL, connectionName: uniqueName('close-budget'), connectTimeout: 2_000 })
  await app.register(consumer, { drainTimeout: 60_000 })
  app.consume(queue, { retry: false }, async () => {
    started += 1
    await new Promise(() => {})
  })
  await app.ready()
  t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
  const warnings = capture.lines.filter((line) => String(line.msg).includes('does not fit'))
  t.equal(warnings.length, 1, 'once')
  t.match(warnings[0], {
    msg: /drainTimeout \(60000 ms\) does not fit in Fastify's pluginTimeout \(3000 ms\).*pluginTimeout wins, the drain ends after 2700 ms/,
    drainMs: 2_700,
  })
  await broker.send(queue, { stuck: true })
  await until(() => started === 1, 10_000, 'the handler running')
  await t.resolves(app.close())
  t.equal(await settledCount(queue), 1, 'back in its queue')
})

t.test(
  'basic.cancel on a black-holed socket is bounded by the drain: close() never hits the Fastify timeout',
  async (t) => {
    const queue = uniqueName('close-blackhole')
    const broker = await openBroker(t)
    const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
    t.teardown(() => proxy.close())
    let started = 0
    const { capture, logger } = captureLogs('info')
    const app = await buildApp(t, {
      logger,
      // The client notices the dead socket after two missed heartbeats: well past pluginTimeout (10 s).
      connection: { url: proxy.url(SHARED_URL), heartbeat: 8 },
      consumer: { drainTimeout: 1_000 },
      declare: (app) => {
        app.consume(queue, { retry: false }, async () => {
          started += 1
          await new Promise(() => {})
        })
      },
    })
    t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
    await broker.send(queue, { stuck: true })
    await until(() => started === 1, 10_000, 'the handler running')
    proxy.blackhole()
    await t.resolves(app.close(), 'close() resolves (the channel closes once the heartbeat declares the socket dead)')
    t.ok(capture.find((line) => line.msg === 'amqp consumers: basic.cancel not answered within drainTimeout'))
    // The broker, too, notices the dead socket by its heartbeat, then requeues.
    t.equal(await settledCount(queue, { timeout: 60_000 }), 1, 'left to the broker: back in its queue')
  }
)
