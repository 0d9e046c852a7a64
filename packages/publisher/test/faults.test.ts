import { startFaultProxy } from '@fastify-amqp/test-broker'
import t from 'tap'
import { buildApp, drainQueue, once, rawChannel, SHARED_URL, tempQueue } from './fixtures/helpers.js'

const TOTAL = 10_000
const IN_FLIGHT = 1_000
const CUT_AT = [2_000, 4_500, 7_000] // settled publishes at which the proxy cuts every socket

t.test('10,000 publishes, 1,000 in flight, 3 connection cuts: every resolved publish is in the queue', async (t) => {
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  t.teardown(() => proxy.close())
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'cuts')
  const app = await buildApp(t, {
    connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 10, maxDelay: 200 } },
    publisher: { confirmTimeout: 30_000 },
  })
  const connected: number[] = []
  app.amqp.on('connected', (info) => {
    if (info.role === 'publish') connected.push(Date.now())
  })

  const resolved = new Set<string>()
  const rejected = new Map<string, number>()
  let next = 0
  let settled = 0
  let cuts = 0
  const onSettled = () => {
    settled += 1
    if (cuts < CUT_AT.length && settled >= (CUT_AT[cuts] as number)) {
      cuts += 1
      proxy.cut()
    }
  }
  const worker = async () => {
    while (next < TOTAL) {
      const n = next++
      try {
        const { messageId } = await app.publisher.publish('', queue, { n, pad: 'x'.repeat(200) })
        resolved.add(messageId)
      } catch (err) {
        const code = (err as { code?: string }).code ?? String(err)
        rejected.set(code, (rejected.get(code) ?? 0) + 1)
      }
      onSettled()
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))

  t.equal(cuts, 3, 'the proxy cut the connection 3 times')
  t.ok(connected.length >= 3, `the publisher reconnected after each cut (${connected.length} reconnects)`)
  t.equal(resolved.size + [...rejected.values()].reduce((a, b) => a + b, 0), TOTAL, 'every publish settled')
  t.equal(app.publisher.pending, 0)

  const messages = await drainQueue(channel, queue, 60_000)
  const seen = new Map<string, number>()
  for (const message of messages) {
    const id = message.properties.messageId as string
    seen.set(id, (seen.get(id) ?? 0) + 1)
  }
  const lost = [...resolved].filter((id) => !seen.has(id))
  const duplicated = [...seen.values()].filter((count) => count > 1).length
  t.equal(lost.length, 0, 'no resolved publish is missing from the queue')
  for (const code of rejected.keys()) {
    t.ok(code.startsWith('FST_AMQP_'), `rejections are coded errors (${code})`)
  }
  t.comment(
    `resolved ${resolved.size}, rejected ${[...rejected.values()].reduce((a, b) => a + b, 0)} ${JSON.stringify(Object.fromEntries(rejected))}, ` +
      `in queue ${messages.length}, duplicated messageIds ${duplicated}`
  )
})

t.test(
  'a silent broker (black-holed socket): heartbeats find it dead, unconfirmed publishes go out again',
  async (t) => {
    const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
    t.teardown(() => proxy.close())
    const { channel } = await rawChannel(t)
    const queue = await tempQueue(t, channel, 'blackhole')
    const app = await buildApp(t, {
      connection: { url: proxy.url(SHARED_URL), heartbeat: 1, reconnect: { initialDelay: 10, maxDelay: 200 } },
      publisher: { confirmTimeout: 30_000 },
    })
    await app.publisher.publish('', queue, { n: -1 })
    proxy.blackhole()
    const publishes = Array.from({ length: 50 }, (_, n) => app.publisher.publish('', queue, { n }))
    await once(app.amqp, 'disconnected', 15_000)
    const back = once(app.amqp, 'connected', 15_000)
    proxy.restore()
    await back
    const receipts = await Promise.all(publishes)
    const inQueue = new Set((await drainQueue(channel, queue)).map((m) => m.properties.messageId))
    t.ok(
      receipts.every((r) => inQueue.has(r.messageId)),
      'every publish made while the broker was silent is in the queue'
    )
  }
)
