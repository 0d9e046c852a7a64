import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startFaultProxy } from '@fastify-amqp/test-broker'
import t from 'tap'
import type { PublisherPluginOptions } from '../src/index.js'
import {
  buildApp,
  drainQueue,
  once,
  rawChannel,
  SHARED_URL,
  settledNow,
  type Teardown,
  tempQueue,
} from './fixtures/helpers.js'

const BROKER_PORT = Number(new URL(SHARED_URL).port || 5672)

async function offlineApp(t: Teardown, publisher: PublisherPluginOptions) {
  const proxy = await startFaultProxy({ port: BROKER_PORT })
  t.teardown(() => proxy.close())
  const app = await buildApp(t, {
    connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 10, maxDelay: 100 } },
    publisher,
  })
  // Wait until the publisher's channel is up, then take the broker away.
  await app.publisher.publish('amq.direct', 'nobody-listens', {}).catch(() => {})
  const lost = once(app.amqp, 'disconnected')
  proxy.refuse()
  await lost
  return { app, proxy }
}

// A full GC before each reading, so the test measures what is retained, not garbage not yet collected.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Heap plus Buffer memory (message bodies live outside the JS heap). */
function retained(): number {
  gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

t.test('broker unreachable: publishes wait in the buffer and go out in order when it comes back', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'offline')
  const { app, proxy } = await offlineApp(t, { confirmTimeout: 30_000 })

  const publishes = Array.from({ length: 100 }, (_, n) => app.publisher.publish('', queue, { n }))
  t.equal(app.publisher.pending, 100, 'all 100 are buffered')
  t.notOk(await settledNow(publishes[0] as Promise<unknown>), 'nothing settles while the broker is away')
  t.equal((await channel.checkQueue(queue)).messageCount, 0)

  const back = once(app.amqp, 'connected')
  proxy.restore()
  await back
  const receipts = await Promise.all(publishes)
  t.equal(receipts.length, 100, 'every buffered publish resolved after the reconnect')
  const messages = await drainQueue(channel, queue)
  t.same(
    messages.map((m) => JSON.parse(m.content.toString()).n),
    Array.from({ length: 100 }, (_, n) => n),
    'in publish order'
  )
  t.same(
    messages.map((m) => m.properties.messageId),
    receipts.map((r) => r.messageId)
  )
})

t.test('past the bound, publishes fail at once with FST_AMQP_PUBLISHER_BUFFER_FULL (count and bytes)', async (t) => {
  const { app } = await offlineApp(t, {
    confirmTimeout: 30_000,
    closeTimeout: 100,
    buffer: { maxMessages: 50, maxBytes: 10_000 },
  })
  const kept = Array.from({ length: 50 }, () => app.publisher.publish('amq.direct', 'x', { small: true }))
  for (const p of kept) p.catch(() => {}) // rejected at app.close()
  const over = app.publisher.publish('amq.direct', 'x', { small: true })
  t.ok(await settledNow(over), 'the 51st settles at once')
  await t.rejects(over, { code: 'FST_AMQP_PUBLISHER_BUFFER_FULL', statusCode: 503 })
  t.equal(app.publisher.pending, 50, 'the buffer did not grow')
  t.notOk(await settledNow(kept[0] as Promise<unknown>), 'the buffered ones still wait')
})

t.test('the byte bound holds too', async (t) => {
  const { app } = await offlineApp(t, {
    confirmTimeout: 30_000,
    closeTimeout: 100,
    buffer: { maxMessages: 1_000, maxBytes: 3_000 },
  })
  const body = Buffer.alloc(1_000)
  const kept = [1, 2, 3].map(() => app.publisher.publish('amq.direct', 'x', body))
  for (const p of kept) p.catch(() => {})
  await t.rejects(app.publisher.publish('amq.direct', 'x', body), { code: 'FST_AMQP_PUBLISHER_BUFFER_FULL' })
  t.equal(app.publisher.pending, 3)
})

t.test('memory stays bounded: 200,000 publishes against an unreachable broker', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'memory')
  const { app, proxy } = await offlineApp(t, { confirmTimeout: 180_000, buffer: { maxMessages: 1_000 } })
  const TOTAL = 200_000
  const BATCH = 5_000
  const body = { pad: 'x'.repeat(1_000) } // ~1 KB: unbounded, 200k of them would hold > 200 MB
  const start = retained()
  let peak = start
  let full = 0
  let other = 0
  const buffered: Promise<unknown>[] = []
  const count = (err: { code?: string }) => {
    if (err.code === 'FST_AMQP_PUBLISHER_BUFFER_FULL') full += 1
    else other += 1
  }
  const began = Date.now()
  for (let sent = 0; sent < TOTAL; sent += BATCH) {
    for (let i = 0; i < BATCH; i++) {
      const publish = app.publisher.publish('', queue, body)
      if (sent + i < 1_000) buffered.push(publish)
      else publish.catch(count)
    }
    await new Promise((resolve) => setImmediate(resolve)) // the refusals settle and are dropped
    if ((sent / BATCH) % 8 === 7) peak = Math.max(peak, retained())
  }
  const elapsed = Date.now() - began
  const growth = (peak - start) / 1024 / 1024
  t.comment(
    `${full} rejected BUFFER_FULL in ${elapsed} ms; memory ${(start / 1048576).toFixed(1)} MB at start, peak +${growth.toFixed(1)} MB`
  )
  t.equal(full, TOTAL - 1_000, 'everything past the first 1,000 was refused')
  t.equal(other, 0)
  t.equal(app.publisher.pending, 1_000, 'the buffer holds its bound, no more')
  // Unbounded, 200k entries of ~1 KB body + ~0.5 KB bookkeeping would retain ~300 MB.
  t.ok(growth < 40, `retained memory stays bounded (+${growth.toFixed(1)} MB)`)

  const back = once(app.amqp, 'connected')
  proxy.restore()
  await back
  await Promise.all(buffered)
  t.equal((await channel.checkQueue(queue)).messageCount, 1_000, 'the buffered 1,000 went out on reconnect')
})
