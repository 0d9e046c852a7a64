// A burst of publishes in one synchronous loop reaches the socket before the loop ends, frames intact.
import type { Socket } from 'node:net'
import type { Channel } from 'amqplib'
import t from 'tap'
import { burstFlusher } from '../src/burst-flush.js'
import { buildApp, drainQueue, rawChannel, tempQueue } from './fixtures/helpers.js'

function socketOf(model: { connection: unknown }): Socket {
  return (model.connection as { stream: Socket }).stream
}

t.test('on a real amqplib channel: buffered frames go to the socket during the loop', async (t) => {
  const { model } = await rawChannel(t)
  const ch = await model.createConfirmChannel()
  const queue = await tempQueue(t, ch, 'burst-raw')
  const flush = burstFlusher(ch)
  t.ok(flush, 'amqplib 2.x internals found: a flusher, not the fallback')
  const socket = socketOf(model)
  const before = socket.bytesWritten
  const body = Buffer.alloc(1024, 'x')
  for (let i = 0; i < 500; i++) {
    ch.sendToQueue(queue, body, { persistent: true })
    flush?.()
  }
  // bytesWritten counts what the socket was handed (sent or queued in it), so this does not depend on how
  // fast the broker reads: a burst of 64 frames of over 1 KiB each is handed over at once.
  const written = socket.bytesWritten - before
  t.ok(written >= 64 * 1024, `handed to the socket before the loop yielded: ${written} bytes (without it, 0)`)
  await ch.waitForConfirms()
  t.equal((await ch.checkQueue(queue)).messageCount, 500, 'every message stored')
})

t.test('the control: without flushing, amqplib writes nothing until the loop yields', async (t) => {
  const { model } = await rawChannel(t)
  const ch = await model.createConfirmChannel()
  const queue = await tempQueue(t, ch, 'burst-control')
  const socket = socketOf(model)
  const before = socket.bytesWritten
  for (let i = 0; i < 500; i++) ch.sendToQueue(queue, Buffer.alloc(1024, 'x'), { persistent: true })
  t.equal(socket.bytesWritten - before, 0, 'this is the delay the flusher removes')
  await ch.waitForConfirms()
})

t.test('the publisher: a loop of small and multi-frame messages arrives whole and in order', async (t) => {
  const app = await buildApp(t, { publisher: { buffer: { maxMessages: 5_000 } } })
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'burst-order')
  await app.publisher.publish('', queue, { n: -1 }) // the channel is open and the flusher set
  await drainQueue(channel, queue)
  const model = app.amqp.connection('publish').model
  if (model === null) throw new Error('no publish connection')
  const socket = socketOf(model)
  const big = 'y'.repeat(300 * 1024) // more than frameMax (128 KiB): several body frames each
  const before = socket.bytesWritten
  const all: Promise<unknown>[] = []
  for (let n = 0; n < 1_500; n++) all.push(app.publisher.publish('', queue, { n, pad: n % 50 === 7 ? big : 'x' }))
  const written = socket.bytesWritten - before
  t.ok(written > 0, `${written} bytes on the socket before the loop yielded`)
  await Promise.all(all)
  const messages = await drainQueue(channel, queue)
  const order = messages.map((m) => JSON.parse(m.content.toString()) as { n: number; pad: string })
  t.same(
    order.map((m) => m.n),
    Array.from({ length: 1_500 }, (_, n) => n),
    'every message, in publish order'
  )
  t.ok(
    order.every((m) => m.pad === (m.n % 50 === 7 ? big : 'x')),
    'every body intact'
  )
})

t.test('without amqplib 2.x internals: no flusher (amqplib alone writes)', async (t) => {
  t.equal(burstFlusher({} as Channel), null)
  t.equal(burstFlusher({ ch: 1, connection: { stream: {}, channels: [] } } as unknown as Channel), null)
  const notObjectMode = { read() {}, readableObjectMode: false }
  const socket = { cork() {} }
  t.equal(
    burstFlusher({ ch: 1, connection: { stream: socket, channels: [null, { buffer: notObjectMode }] } } as never),
    null
  )
})
