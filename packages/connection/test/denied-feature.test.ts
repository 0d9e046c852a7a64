import { brokerRuntime, closeSharedConnectionsNamed } from '@fastify-amqp/test-broker'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { AmqpClient, type ManagedChannel } from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import { buildApp, captureLogs, once, SHARED_URL, uniqueName, until } from './fixtures/helpers.js'

// The shared 4.x node denies transient non-exclusive queues with a connection-level 541, as 4.3 will by
// default; 3.10 has no deprecated features to deny.
const skip = brokerRuntime().name !== '4' && 'RabbitMQ 3.10 denies no deprecated features'

/** A channel whose setup does what validation cannot see: declare a transient non-exclusive queue. */
function culpritChannel(app: FastifyInstance): { culprit: ManagedChannel; setups: () => number } {
  let setups = 0
  const culprit = app.amqp.channel({
    name: 'culprit',
    setup: async (channel) => {
      setups += 1
      await channel.assertQueue(uniqueName('transient'), { durable: false })
    },
  })
  return { culprit, setups: () => setups }
}

t.test(
  'a broker denial while the topology is declared fails the start at once, naming the feature',
  { skip },
  async (t) => {
    // The broker may deny what our validation does not know of: skipping validation stands for it.
    const options = {
      ...resolveOptions({ url: SHARED_URL }),
      topology: { queues: [{ name: uniqueName('transient'), options: { durable: false } }] },
    }
    const client = new AmqpClient(options, Fastify({ logger: false }).log)
    t.teardown(() => client.close())
    const started = Date.now()
    const err = await client.start(8_000).catch((e: Error) => e)
    t.match(err, {
      code: 'FST_AMQP_CONNECTION_FEATURE_DENIED',
      message: /transient_nonexcl_queues, asked for by the topology/,
    })
    t.ok(Date.now() - started < 4_000, `in ${Date.now() - started} ms, not after connectTimeout`)
    t.equal(client.status, 'closed', 'no reconnect loop left running')
  }
)

t.test(
  'after start, a channel whose setup is denied fails alone; the connection and its siblings come back once',
  { skip },
  async (t) => {
    const connectionName = uniqueName('denied')
    const { capture, logger } = captureLogs()
    const app = await buildApp(t, { connectionName }, { logger })
    let siblingSetups = 0
    const sibling = app.amqp.channel({
      name: 'sibling',
      setup: async (channel) => {
        siblingSetups += 1
        await channel.assertQueue('', { exclusive: true })
      },
    })
    await sibling.waitForOpen()
    const { culprit, setups: culpritSetups } = culpritChannel(app)
    const failed = once<Error>(culprit, 'failed')
    const waiting = culprit.waitForOpen()
    const err = await failed
    t.match(err, {
      code: 'FST_AMQP_CONNECTION_FEATURE_DENIED',
      message: /transient_nonexcl_queues, asked for by the setup of channel "culprit"/,
    })
    await t.rejects(waiting, { code: 'FST_AMQP_CONNECTION_FEATURE_DENIED' }, 'a waiter gets the coded error')
    await t.rejects(culprit.waitForOpen(), { code: 'FST_AMQP_CONNECTION_FEATURE_DENIED' }, 'so does a later one')
    t.equal(culprit.failed, err)
    t.match(capture.text(), /amqp channel failed: not retrying/)

    // The broker closed the connection once; it comes back with the sibling and without the culprit.
    await until(() => siblingSetups === 2 && sibling.channel !== null, 15_000, 'the sibling re-opened')
    t.equal(app.amqp.health().connections.consume.reconnects, 1)
    // Another reconnect: the sibling's setup runs again, the culprit's does not.
    const back = once(sibling, 'open', 60_000)
    t.equal(await closeSharedConnectionsNamed(`${connectionName}:consume`, 'test: reconnect'), 1)
    await back
    await t.resolves(sibling.waitForOpen().then((ch) => ch.assertQueue('', { exclusive: true })))
    t.equal(siblingSetups, 3)
    t.equal(culpritSetups(), 1, 'the denied setup never ran again')
    t.equal(app.amqp.health().connections.consume.reconnects, 2, 'one reconnect per close, no loop')
    t.equal(app.amqp.status, 'connected')
  }
)

t.test(
  'a denial while several setups run: the next connection finds the culprit, the others are not blamed',
  { skip },
  async (t) => {
    const app = await buildApp(t)
    // The sibling's first setup is still running when the culprit's declaration closes the connection.
    let releaseSibling!: () => void
    const siblingHeld = new Promise<void>((resolve) => {
      releaseSibling = resolve
    })
    let siblingSetups = 0
    const sibling = app.amqp.channel({
      name: 'sibling',
      setup: async (channel) => {
        siblingSetups += 1
        if (siblingSetups === 1) await siblingHeld
        await channel.assertQueue('', { exclusive: true })
      },
    })
    const { culprit, setups: culpritSetups } = culpritChannel(app)
    const failed = once<Error>(culprit, 'failed', 30_000)
    await once(app.amqp, 'disconnected')
    releaseSibling()
    t.match(await failed, { code: 'FST_AMQP_CONNECTION_FEATURE_DENIED', message: /channel "culprit"/ })
    await t.resolves(sibling.waitForOpen(AbortSignal.timeout(15_000)), 'the sibling opens')
    t.equal(sibling.failed, null, 'the sibling was not blamed')
    t.equal(culpritSetups(), 2, 'the culprit ran once more, alone')
    t.equal(app.amqp.health().connections.consume.reconnects, 2, 'two denials, two reconnects, then none')
  }
)
