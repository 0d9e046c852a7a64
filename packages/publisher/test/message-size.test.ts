import { type BrokerNode, startBroker } from '@fastify-amqp/test-broker'
import t from 'tap'
import type { PublishReceipt } from '../src/index.js'
import { buildApp, drainQueue, rawChannel, settledNow, tempQueue } from './fixtures/helpers.js'

const MiB = 1024 * 1024

// A broker limit that both 3.10 (128 MiB by default) and 4.x (16 MiB) enforce the same way.
const BROKER_MAX = 1 * MiB
let node: BrokerNode | undefined
async function lowLimitNode(): Promise<BrokerNode> {
  node ??= await startBroker({ config: [`max_message_size = ${BROKER_MAX}`] })
  return node
}
t.teardown(() => node?.dispose())

/** 21 publishes issued together, the big body in the middle. */
function publishBeside(publish: (n: number) => Promise<PublishReceipt>) {
  return Array.from({ length: 21 }, (_, n) => publish(n))
}

t.test(
  'a body over maxMessageBytes (default 16 MiB) rejects at once with its own code; the 20 beside it resolve',
  async (t) => {
    const { channel } = await rawChannel(t)
    const queue = await tempQueue(t, channel, 'size')
    const app = await buildApp(t, { publisher: { confirmTimeout: 5_000 } })
    const big = Buffer.alloc(20 * MiB)
    const publishes = publishBeside((n) => app.publisher.publish('', queue, n === 10 ? big : { n }))
    t.ok(await settledNow(publishes[10] as Promise<unknown>), 'refused before anything was written')
    t.equal(app.publisher.pending, 20, 'never queued')
    const results = await Promise.allSettled(publishes)
    const refused = results[10]
    t.equal(refused?.status, 'rejected')
    if (refused?.status === 'rejected') {
      t.match(refused.reason, {
        code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE',
        statusCode: 413,
        mayHaveArrived: false,
        message: /20971520 bytes, over the limit of 16777216 bytes \(maxMessageBytes\)/,
      })
    }
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 20, 'the others all resolved')
    t.equal((await channel.checkQueue(queue)).messageCount, 20)
  }
)

t.test('the encoded body is what counts: a limit of exactly its length passes, one byte less refuses', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'size-edge')
  const body = { text: 'x'.repeat(100) }
  const length = Buffer.byteLength(JSON.stringify(body))
  const exact = await buildApp(t, { publisher: { maxMessageBytes: length } })
  await t.resolves(exact.publisher.publish('', queue, body))
  const under = await buildApp(t, { publisher: { maxMessageBytes: length - 1 } })
  await t.rejects(under.publisher.publish('', queue, body), {
    code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE',
    message: new RegExp(`${length} bytes, over the limit of ${length - 1} bytes`),
  })
  t.equal((await channel.checkQueue(queue)).messageCount, 1)
})

t.test("a publish's own maxMessageBytes replaces the publisher's for that publish only", async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'size-own')
  const app = await buildApp(t, { publisher: { maxMessageBytes: 100 } })
  const body = Buffer.alloc(200)
  await t.rejects(app.publisher.publish('', queue, body), { code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE' })
  await t.resolves(app.publisher.publish('', queue, body, { maxMessageBytes: 1000 }))
  await t.rejects(app.publisher.publish('', queue, body, { maxMessageBytes: 150 }), {
    message: /200 bytes, over the limit of 150 bytes \(maxMessageBytes\)/,
  })
  t.equal((await channel.checkQueue(queue)).messageCount, 1)
})

t.test('reply.publish of a body over the limit, not caught by the route: 413, no Retry-After', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'size-route')
  const app = await buildApp(t, {
    publisher: { maxMessageBytes: 1024 },
    setup(app) {
      app.post('/', async (request, reply) => {
        await reply.publish('', queue, request.body)
        return { ok: true }
      })
    },
  })
  const response = await app.inject({ method: 'POST', url: '/', payload: { text: 'x'.repeat(2048) } })
  t.equal(response.statusCode, 413, 'the client is told its message is too large, not to come back later')
  t.equal(response.headers['retry-after'], undefined)
  t.equal(response.json().code, 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE')
  t.equal((await channel.checkQueue(queue)).messageCount, 0)
})

t.test(
  "the broker's own 406 for a message over its max_message_size: that one rejects at once, the others go out again and resolve",
  async (t) => {
    const broker = await lowLimitNode()
    const { channel } = await rawChannel(t, broker.url)
    const queue = await tempQueue(t, channel, 'size-406', broker.url)
    const confirmTimeout = 20_000
    // maxMessageBytes raised above what the broker takes: only the broker can refuse it.
    const app = await buildApp(t, {
      connection: { url: broker.url },
      publisher: { confirmTimeout, maxMessageBytes: 32 * MiB },
    })
    const size = 2 * BROKER_MAX
    const started = Date.now()
    const publishes = publishBeside((n) => app.publisher.publish('', queue, n === 10 ? Buffer.alloc(size) : { n }))
    const refused = await publishes[10]?.then(
      () => null,
      (err: unknown) => err
    )
    const elapsed = Date.now() - started
    t.match(refused, {
      code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE',
      statusCode: 413,
      mayHaveArrived: false,
      message: new RegExp(`${size} bytes, over the limit of ${BROKER_MAX} bytes \\(the broker's max_message_size\\)`),
    })
    t.ok(elapsed < confirmTimeout / 4, `rejected after ${elapsed} ms, well before the confirm timeout`)

    const results = await Promise.allSettled(publishes)
    const receipts = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.messageId] : []))
    t.equal(receipts.length, 20, 'the 20 small ones resolved')
    // Some may have been stored before the close and sent again: duplicates, never losses.
    const stored = new Set((await drainQueue(channel, queue)).map((m) => m.properties.messageId as string))
    t.same([...stored].sort(), receipts.sort(), 'every resolved one is in the queue, the big one is not')

    // The broker stated its limit: a later oversized publish is refused here, without closing a channel.
    const again = app.publisher.publish('', queue, Buffer.alloc(size))
    t.ok(await settledNow(again), 'refused at once')
    await t.rejects(again, { code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE', message: /the broker's max_message_size/ })
    await t.resolves(app.publisher.publish('', queue, { after: true }))
  }
)
