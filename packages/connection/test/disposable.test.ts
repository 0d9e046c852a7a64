import { type BrokerNode, onlyOnPrimaryLeg, startBroker, startFaultProxy } from '@fastify-amqp/test-broker'
import { connect } from 'amqplib'
import t from 'tap'
import { buildApp, captureLogs, once, uniqueName, until } from './fixtures/helpers.js'

// Restarts, wipes, alarms and URL redaction are the plugin's logic; on 3.10 the fault profile kills and alarms a node.
const skip = onlyOnPrimaryLeg(
  "restarts, alarms and redacting URLs are the plugin's logic; the 3.10 fault profile kills and alarms a node"
)

// One disposable node for every test here: they stop, wipe and alarm it.
let node: BrokerNode
t.before(async () => {
  if (!skip) node = await startBroker()
})
t.teardown(() => node?.dispose())

async function queueExists(url: string, queue: string): Promise<boolean> {
  const conn = await connect(url)
  try {
    const ch = await conn.createChannel()
    ch.on('error', () => {})
    await ch.checkQueue(queue)
    return true
  } catch {
    return false
  } finally {
    await conn.close().catch(() => {})
  }
}

t.test('after a restart with an empty data dir, the topology is declared again', { skip }, async (t) => {
  const exchange = uniqueName('ex')
  const queue = uniqueName('q')
  const app = await buildApp(t, {
    url: node.url,
    topology: {
      exchanges: [{ name: exchange, type: 'topic' }],
      queues: [{ name: queue }],
      bindings: [{ exchange, queue, routingKey: 'a.#' }],
    },
  })
  t.ok(await queueExists(node.url, queue), 'declared at start')
  const back = once(app.amqp, 'connected', 60_000)
  await node.restart({ keepData: false })
  await back
  await until(() => app.amqp.status === 'connected', 30_000, 'both connections')
  t.ok(await queueExists(node.url, queue), 'declared again after the wipe')
  // The binding came back too: a message to the exchange lands in the queue.
  const conn = await connect(node.url)
  const ch = await conn.createConfirmChannel()
  ch.publish(exchange, 'a.b', Buffer.from('x'))
  await ch.waitForConfirms()
  t.equal((await ch.checkQueue(queue)).messageCount, 1)
  await conn.close()
})

t.test('waitForConnection: false gives a ready app that connects when the broker starts', { skip }, async (t) => {
  await node.stop()
  const app = await buildApp(t, { url: node.url, waitForConnection: false, reconnect: { maxDelay: 500 } })
  await until(() => app.amqp.status === 'reconnecting', 5_000, 'reconnecting while the broker is down')
  t.equal(app.amqp.health().connectedSince, null)
  await node.start()
  await until(() => app.amqp.status === 'connected', 30_000, 'connected once the broker is up')
  t.equal(app.amqp.status, 'connected')
})

t.test('memory alarm: status blocked, then connected when cleared', { skip }, async (t) => {
  const app = await buildApp(t, { url: node.url })
  const channel = await app.amqp.channel({ confirm: true }).waitForOpen()
  const blocked = once(app.amqp, 'blocked', 20_000)
  await node.setMemoryAlarm(true)
  t.teardown(() => node.setMemoryAlarm(false))
  // The broker blocks a connection when it next publishes.
  channel.publish('', 'nowhere', Buffer.from('x'))
  await blocked
  t.equal(app.amqp.status, 'blocked')
  t.equal(app.amqp.health().connections.publish.status, 'blocked')
  const unblocked = once(app.amqp, 'unblocked', 20_000)
  await node.setMemoryAlarm(false)
  await unblocked
  t.equal(app.amqp.status, 'connected')
})

t.test('no log line, error or health() output contains the password', { skip }, async (t) => {
  const user = uniqueName('user')
  const password = `pw-${uniqueName('S3cr3t')}`
  await node.rabbitmqctl('add_user', user, password)
  await node.rabbitmqctl('set_permissions', '-p', '/', user, '.*', '.*', '.*')
  const proxy = await startFaultProxy({ port: node.port })
  t.teardown(() => proxy.close())
  const goodUrl = proxy.url(`amqp://${user}:${password}@127.0.0.1:${node.port}`)
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, { url: [goodUrl], connectionName: 'secret-test' }, { logger })
  const healthBefore = JSON.stringify(app.amqp.health())
  // A cut, a refused reconnect, then recovery: every log path that names the URL.
  const reconnecting = once(app.amqp, 'reconnecting')
  proxy.refuse()
  await reconnecting
  const healthDuring = JSON.stringify(app.amqp.health())
  proxy.restore()
  await until(() => app.amqp.status === 'connected', 15_000, 'recovery')
  // A wrong password: the error and its logs.
  const wrong = `${password}-wrong`
  const { capture: capture2, logger: logger2 } = captureLogs()
  const err = await buildApp(
    t,
    { url: `amqp://${user}:${wrong}@127.0.0.1:${node.port}`, connectTimeout: 3_000 },
    { logger: logger2 }
  ).catch((e: Error) => e)
  t.type(err, Error)
  t.match((err as Error).message, /ACCESS.REFUSED/, 'fails fast on bad credentials')
  const everything = [capture.text(), capture2.text(), healthBefore, healthDuring, String(err), (err as Error).stack]
  t.ok(capture.lines.length > 5, `logs were captured (${capture.lines.length} lines)`)
  t.match(capture.text(), /\*\*\*@127\.0\.0\.1/, 'the URL is logged, redacted')
  for (const text of everything) {
    t.notMatch(String(text), password, 'no password anywhere')
  }
})
