// A broker that takes every message and never confirms (the fault proxy drops Basic.Ack/Nack on the way
// back): publishes time out, and what they leave behind stays bounded; confirms coming back heal it.

import { startFaultProxy } from '@fastify-amqp/test-broker'
import t from 'tap'
import { buildApp, rawChannel, SHARED_URL, tempQueue } from './fixtures/helpers.js'

const BODY_BYTES = 16 * 1024
const BATCHES = 12
const PER_BATCH = 250
const PUBLISHED_BYTES = BODY_BYTES * BATCHES * PER_BATCH // 48 MiB

function retainedHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc (.taprc node-arg)')
  gc()
  gc()
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
}

t.test(
  'publishes that never get a confirm: heap bounded, the channel recycled, healed once confirms come',
  async (t) => {
    const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
    t.teardown(() => proxy.close())
    const { channel } = await rawChannel(t)
    const queue = await tempQueue(t, channel, 'never-confirms')
    const app = await buildApp(t, {
      connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 10, maxDelay: 200 } },
      publisher: { inflight: { maxMessages: 200 }, buffer: { maxMessages: 1_000 } },
    })
    await app.publisher.publish('', queue, Buffer.alloc(BODY_BYTES))
    const before = retainedHeap()

    proxy.dropConfirms()
    const codes = new Map<string, number>()
    for (let batch = 0; batch < BATCHES; batch++) {
      const results = await Promise.allSettled(
        Array.from({ length: PER_BATCH }, () =>
          app.publisher.publish('', queue, Buffer.alloc(BODY_BYTES), { timeout: 300 })
        )
      )
      for (const result of results) {
        const code = result.status === 'rejected' ? (result.reason as { code: string }).code : 'resolved'
        codes.set(code, (codes.get(code) ?? 0) + 1)
      }
    }
    t.same(
      Object.fromEntries(codes),
      { FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT: BATCHES * PER_BATCH },
      'every publish timed out; none resolved without a confirm'
    )
    t.ok(proxy.droppedConfirms > 0, `${proxy.droppedConfirms} confirm frames dropped`)
    t.equal(app.publisher.pending, 0)
    const grown = retainedHeap() - before
    t.ok(
      grown < PUBLISHED_BYTES / 8,
      `retained ${(grown / 1024 / 1024).toFixed(1)} MiB after ${PUBLISHED_BYTES / 1024 / 1024} MiB of timed-out publishes`
    )

    proxy.restore()
    await t.resolves(app.publisher.publish('', queue, { after: true }), 'confirms again: the next publish resolves')
  }
)
