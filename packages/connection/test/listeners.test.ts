import t from 'tap'
import type { ConnectionRole } from '../src/index.js'
import {
  buildApp,
  captureLogs,
  type LogCapture,
  once,
  proxied,
  SHARED_URL,
  type Teardown,
  uniqueName,
  until,
} from './fixtures/helpers.js'

/** Records uncaught exceptions and unhandled rejections for the test's duration. */
function processFaults(t: Teardown): unknown[] {
  const faults: unknown[] = []
  const record = (err: unknown) => faults.push(err)
  process.on('uncaughtException', record)
  process.on('unhandledRejection', record)
  t.teardown(() => {
    process.off('uncaughtException', record)
    process.off('unhandledRejection', record)
  })
  return faults
}

/** Log lines reporting a failed listener for this event. */
function listenerFailures(capture: LogCapture, event: string): Array<{ err: string }> {
  return capture.lines
    .map((line) => JSON.parse(line) as { msg: string; err: string })
    .filter((line) => line.msg === `amqp '${event}' listener failed`)
}

const PASSWORD = new URL(SHARED_URL).password

t.test('listeners that throw or reject neither stop healing nor reach the process, over two cuts', async (t) => {
  const faults = processFaults(t)
  const proxy = await proxied(t)
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, { url: proxy.url(SHARED_URL) }, { logger })
  const thrown: Record<string, number> = {}
  for (const event of ['disconnected', 'reconnecting', 'connected'] as const) {
    app.amqp.on(event, () => {
      thrown[event] = (thrown[event] ?? 0) + 1
      throw new Error(`sync ${event} listener broke (${PASSWORD})`)
    })
    app.amqp.on(event, async () => {
      throw new Error(`async ${event} listener broke`)
    })
    // On the connection itself too: its own emit, not only the client's re-emit.
    app.amqp.connection('consume').on(event, () => {
      throw new Error(`connection ${event} listener broke`)
    })
  }
  const connected: ConnectionRole[] = []
  app.amqp.on('connected', (info) => connected.push(info.role))
  const confirm = app.amqp.channel({ confirm: true, name: 'listeners' })
  confirm.on('open', () => {
    throw new Error('open listener broke')
  })
  confirm.on('lost', async () => {
    throw new Error('lost listener broke')
  })
  await confirm.waitForOpen()

  for (const cut of [1, 2]) {
    const reopened = once(confirm, 'open')
    const before = connected.length
    proxy.cut()
    await until(() => connected.length >= before + 2, 15_000, `both connections back after cut ${cut}`)
    await until(() => app.amqp.status === 'connected', 15_000, 'status connected')
    await reopened
    // Both roles each cut: a sync and an async listener on app.amqp, and one on the consume connection.
    await until(() => listenerFailures(capture, 'connected').length >= cut * 5, 5_000, 'the failures logged')
    t.equal(thrown.disconnected, cut * 2, `cut ${cut}: every disconnected listener ran`)
    t.ok((thrown.reconnecting ?? 0) >= cut * 2, `cut ${cut}: every reconnecting listener ran`)
    t.equal(thrown.connected, cut * 2, `cut ${cut}: every connected listener ran`)
    t.same(faults, [], `cut ${cut}: no uncaught exception or unhandled rejection`)
  }

  for (const event of ['disconnected', 'reconnecting', 'open', 'lost']) {
    t.ok(listenerFailures(capture, event).length > 0, `a failed '${event}' listener is logged`)
  }
  const logged = listenerFailures(capture, 'disconnected').map((line) => line.err)
  t.ok(logged.includes('sync disconnected listener broke (***)'), 'the logged error is scrubbed of the password')
  t.ok(logged.includes('async disconnected listener broke'), 'a rejected promise is logged')
  t.ok(logged.includes('connection disconnected listener broke'), "the connection's own listener is logged")

  const channel = await confirm.waitForOpen()
  const { queue } = await channel.assertQueue(uniqueName('listeners'), { exclusive: true })
  await t.resolves(
    new Promise<void>((resolve, reject) =>
      channel.sendToQueue(queue, Buffer.from('after two cuts'), {}, (err) => (err ? reject(err) : resolve()))
    ),
    'a confirm-channel publish after the second cut is confirmed'
  )
  t.same(faults, [])
})

/** An app with one managed channel whose listener for `event` throws. */
async function throwingChannel(t: Teardown, event: 'open' | 'lost') {
  const faults = processFaults(t)
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, {}, { logger })
  const managed = app.amqp.channel({ name: `throws-on-${event}` })
  managed.on(event, () => {
    throw new Error(`${event} listener broke`)
  })
  return { app, managed, faults, failures: () => listenerFailures(capture, event).length }
}

t.test(
  "a channel 'lost' listener that throws does not stop the channel re-opening after a channel error",
  async (t) => {
    const { app, managed, faults, failures } = await throwingChannel(t, 'lost')
    const channel = await managed.waitForOpen()
    const reopened = once(managed, 'open')
    await t.rejects(channel.checkQueue(uniqueName('missing-queue')))
    await reopened
    t.not(managed.channel, channel, 'a new channel')
    // Without the guard the throw escapes into amqplib's frame handling, which drops the whole connection.
    t.equal(app.amqp.health().reconnects, 0, 'on the same connection')
    t.equal(failures(), 1)
    t.same(faults, [])
  }
)

t.test("a channel 'open' listener that throws: the channel is still handed out", async (t) => {
  const { managed, faults, failures } = await throwingChannel(t, 'open')
  const channel = await managed.waitForOpen()
  await t.resolves(channel.assertQueue('', { exclusive: true }), 'the channel handed out works')
  await until(() => failures() === 1, 5_000, 'the failure logged')
  t.same(faults, [])
})
