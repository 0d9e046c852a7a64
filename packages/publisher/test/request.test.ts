import { startFaultProxy } from '@fastify-amqp/test-broker'
import type { Channel, ConsumeMessage } from 'amqplib'
import t, { type Test } from 'tap'
import { ERROR_REPLY_TYPE } from '../src/index.js'
import { buildApp, rawChannel, SHARED_URL, tempQueue, uniqueName, until } from './fixtures/helpers.js'

type Answer = (msg: ConsumeMessage, channel: Channel) => void

/** A responder on plain amqplib: each request on its queue is answered (or kept for later) by `answer`. */
async function responder(t: Test, answer: Answer) {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'rpc')
  await channel.consume(queue, (msg) => msg && answer(msg, channel), { noAck: true })
  return { queue }
}

function reply(channel: Channel, msg: ConsumeMessage, body: Buffer, properties: Record<string, unknown> = {}) {
  channel.sendToQueue(msg.properties.replyTo, body, { correlationId: msg.properties.correlationId, ...properties })
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value))

t.test('resolves with the JSON reply; a Buffer for other content types', async (t) => {
  const { queue } = await responder(t, (msg, channel) => {
    const { n } = JSON.parse(msg.content.toString()) as { n: number }
    if (n < 0) reply(channel, msg, Buffer.from('raw bytes'), { contentType: 'application/octet-stream' })
    else reply(channel, msg, json({ doubled: n * 2 }), { contentType: 'application/json' })
  })
  const app = await buildApp(t)
  t.same(await app.publisher.request('', queue, { n: 21 }), { doubled: 42 })
  const raw = await app.publisher.request('', queue, { n: -1 })
  t.ok(Buffer.isBuffer(raw))
  t.equal(String(raw), 'raw bytes')
})

t.test(
  'the request as sent: direct reply-to, a fresh correlation id, not persistent, expiring with its timeout',
  async (t) => {
    let seen: ConsumeMessage | undefined
    const { queue } = await responder(t, (msg, channel) => {
      seen = msg
      reply(channel, msg, json(null), { contentType: 'application/json' })
    })
    const app = await buildApp(t)
    t.equal(await app.publisher.request('', queue, { n: 1 }, { timeout: 3_000, headers: { tenant: 'a' } }), null)
    t.match(seen?.properties, {
      replyTo: /^amq\.rabbitmq\.reply-to\./,
      correlationId: /^[0-9a-f-]{36}$/,
      expiration: '3000',
      deliveryMode: 1,
      contentType: 'application/json',
      headers: { tenant: 'a' },
    })
  }
)

t.test('an error reply rejects with a coded remote error; an unreadable reply too', async (t) => {
  const { queue } = await responder(t, (msg, channel) => {
    const { kind } = JSON.parse(msg.content.toString()) as { kind: string }
    if (kind === 'error')
      reply(channel, msg, json({ message: 'out of stock', code: 'E_STOCK' }), {
        contentType: 'application/json',
        type: ERROR_REPLY_TYPE,
      })
    else reply(channel, msg, Buffer.from('{not json'), { contentType: 'application/json' })
  })
  const app = await buildApp(t)
  await t.rejects(app.publisher.request('', queue, { kind: 'error' }), {
    code: 'FST_AMQP_PUBLISHER_REMOTE_ERROR',
    statusCode: 502,
    message: /out of stock/,
    remoteCode: 'E_STOCK',
  })
  await t.rejects(app.publisher.request('', queue, { kind: 'garbled' }), {
    code: 'FST_AMQP_PUBLISHER_REMOTE_ERROR',
    message: /not valid JSON/,
  })
})

t.test('a timeout rejects and forgets the request; a late reply is dropped; an abort rejects at once', async (t) => {
  const held: Array<() => void> = []
  const { queue } = await responder(t, (msg, channel) => {
    held.push(() => reply(channel, msg, json('late'), { contentType: 'application/json' }))
  })
  const app = await buildApp(t, { publisher: { requestTimeout: 200 } })
  await t.rejects(app.publisher.request('', queue, {}), {
    code: 'FST_AMQP_PUBLISHER_REQUEST_TIMEOUT',
    statusCode: 504,
    mayHaveArrived: true,
  })
  const controller = new AbortController()
  const aborted = app.publisher.request('', queue, {}, { signal: controller.signal, timeout: 10_000 })
  await until(() => held.length === 2, 5_000, 'the second request at the responder')
  controller.abort(new Error('client went away'))
  await t.rejects(aborted, { code: 'FST_AMQP_PUBLISHER_ABORTED', mayHaveArrived: true })
  await t.rejects(app.publisher.request('', queue, {}, { signal: AbortSignal.abort() }), {
    code: 'FST_AMQP_PUBLISHER_ABORTED',
  })
  for (const late of held) late()
  // The late replies find nobody waiting; the channel goes on answering.
  const { queue: echo } = await responder(t, (msg, channel) =>
    reply(channel, msg, json('ok'), { contentType: 'application/json' })
  )
  t.equal(await app.publisher.request('', echo, {}, { timeout: 5_000 }), 'ok')
})

t.test('refused before sending: a request nobody can receive, an invalid body, a closed publisher', async (t) => {
  const app = await buildApp(t)
  await t.rejects(app.publisher.request('', uniqueName('nobody'), {}), {
    code: 'FST_AMQP_PUBLISHER_UNROUTABLE',
    mayHaveArrived: false,
  })
  await t.rejects(app.publisher.request('', 'q', { n: 1n }), { code: 'FST_AMQP_PUBLISHER_INVALID_MESSAGE' })
  await app.publisher.close()
  await t.rejects(app.publisher.request('', 'q', {}), { code: 'FST_AMQP_PUBLISHER_CLOSED', mayHaveArrived: false })
})

t.test('a cut rejects every pending request at once; the reply channel comes back', async (t) => {
  const held: Array<() => void> = []
  const { queue } = await responder(t, (msg, channel) => {
    const answer = () => reply(channel, msg, json('ok'), { contentType: 'application/json' })
    if (JSON.parse(msg.content.toString()).hold) held.push(answer)
    else answer()
  })
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
  t.teardown(() => proxy.close())
  const app = await buildApp(t, { connection: { url: proxy.url(SHARED_URL) } })
  const pending = Array.from({ length: 3 }, () => app.publisher.request('', queue, { hold: true }).catch((err) => err))
  await until(() => held.length === 3, 5_000, 'the three requests at the responder')
  proxy.cut()
  for (const error of await Promise.all(pending))
    t.match(error, { code: 'FST_AMQP_PUBLISHER_REQUEST_LOST', mayHaveArrived: true })
  await until(() => app.amqp.status === 'connected', 15_000, 'reconnected')
  t.equal(await app.publisher.request('', queue, {}), 'ok')
  t.equal(app.publisher.pending, 0)
})

t.test(
  "a request to an exchange that is not there fails with the broker's reason; the others pending are cut off",
  async (t) => {
    const held: Array<() => void> = []
    const { queue } = await responder(t, (msg, channel) => {
      held.push(() => reply(channel, msg, json('ok'), { contentType: 'application/json' }))
    })
    const app = await buildApp(t)
    const waiting = app.publisher.request('', queue, {}).catch((err) => err)
    await until(() => held.length === 1, 5_000, 'the first request at the responder')
    const missing = uniqueName('no-such-exchange')
    // The broker closes the requests channel over it (404), taking the first request's way back along.
    const refused = await app.publisher.request(missing, 'k', {}).catch((err) => err)
    t.match(refused, {
      code: 'FST_AMQP_PUBLISHER_EXCHANGE_NOT_FOUND',
      mayHaveArrived: false,
      message: new RegExp(missing),
    })
    t.match(await waiting, { code: 'FST_AMQP_PUBLISHER_REQUEST_LOST', mayHaveArrived: true })
    // The channel comes back by itself.
    for (const answer of held.splice(0)) answer()
    const again = app.publisher.request('', queue, {})
    await until(() => held.length === 1, 10_000, 'the next request at the responder')
    held[0]?.()
    t.equal(await again, 'ok')
  }
)
