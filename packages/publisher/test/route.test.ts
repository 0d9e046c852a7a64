import amqp from '@fastify-amqp/connection'
import Fastify from 'fastify'
import t from 'tap'
import publisher from '../src/index.js'
import { buildApp, drainQueue, rawChannel, SHARED_URL, tempQueue } from './fixtures/helpers.js'

// 128 random bits, base64url.
const MESSAGE_ID = /^[A-Za-z0-9_-]{22}$/

t.test('reply.publish puts the message in the queue with every property, resolved once stored', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  let countAtResolve = -1
  let receipt: { messageId: string } | undefined
  const before = Math.floor(Date.now() / 1000)
  const app = await buildApp(t, {
    setup(app) {
      app.post('/orders', async (request, reply) => {
        receipt = await reply.publish('', queue, request.body)
        // Resolved means stored: the broker already counts it.
        countAtResolve = (await channel.checkQueue(queue)).messageCount
        return reply.code(202).send(receipt)
      })
    },
  })
  const response = await app.inject({ method: 'POST', url: '/orders', payload: { id: 'o-1', total: 42 } })
  t.equal(response.statusCode, 202)
  t.equal(countAtResolve, 1, 'the message is in the queue when the publish resolves')
  const [message] = await drainQueue(channel, queue)
  t.ok(message)
  if (!message || !receipt) return
  t.same(JSON.parse(message.content.toString()), { id: 'o-1', total: 42 })
  const p = message.properties
  t.equal(p.deliveryMode, 2, 'persistent')
  t.equal(p.contentType, 'application/json')
  t.match(p.messageId, MESSAGE_ID)
  t.equal(p.messageId, receipt.messageId, 'the receipt names the messageId')
  t.equal(response.json().messageId, p.messageId)
  t.ok(p.timestamp >= before && p.timestamp <= Math.floor(Date.now() / 1000) + 1, 'timestamp in seconds, now')
  const requestId = p.correlationId
  t.type(requestId, 'string')
  t.ok(requestId.length > 0, 'correlationId is the request id')
  t.equal(p.headers?.['x-request-id'], undefined, 'no header: the correlationId carries the request id')
})

t.test('reply.publish keeps a correlationId, messageId and headers the caller gives', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  const app = await buildApp(t, {
    setup(app) {
      app.post('/', async (_request, reply) => {
        await reply.publish('', queue, Buffer.from('raw bytes'), {
          correlationId: 'saga-7',
          messageId: 'm-7',
          headers: { tenant: 'acme' },
          persistent: false,
        })
        return { ok: true }
      })
    },
  })
  t.equal((await app.inject({ method: 'POST', url: '/' })).statusCode, 200)
  const [message] = await drainQueue(channel, queue)
  if (!message) return t.fail('no message')
  t.equal(message.content.toString(), 'raw bytes', 'a Buffer goes as is')
  t.equal(message.properties.contentType, 'application/octet-stream')
  t.equal(message.properties.correlationId, 'saga-7')
  t.equal(message.properties.messageId, 'm-7')
  t.equal(message.properties.deliveryMode, 1, 'options override the defaults')
  t.equal(message.properties.headers?.tenant, 'acme')
  t.type(
    message.properties.headers?.['x-request-id'],
    'string',
    "the caller's correlationId won: the request id goes in a header"
  )
})

t.test('app.publisher.publish works outside a request, on a named exchange', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  await channel.bindQueue(queue, 'amq.topic', 'order.*')
  const app = await buildApp(t)
  const receipt = await app.publisher.publish('amq.topic', 'order.placed', { n: 1 })
  t.match(receipt.messageId, MESSAGE_ID)
  t.equal(app.publisher.pending, 0)
  const [message] = await drainQueue(channel, queue)
  t.equal(message?.fields.routingKey, 'order.placed')
  t.equal(message?.properties.correlationId, undefined, 'no request, no correlationId')
})

t.test('a request id too long for correlationId: cut to 255 bytes there, whole in x-request-id', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  const app = Fastify({ logger: false, requestIdHeader: 'x-request-id' })
  t.teardown(() => app.close())
  await app.register(amqp, { url: SHARED_URL })
  await app.register(publisher)
  app.post('/orders', async (_request, reply) => reply.code(202).send(await reply.publish('', queue, { n: 1 })))
  await app.ready()
  // 2-byte characters, so a cut at byte 255 would split one: the cut backs off to 254 bytes.
  const longId = `req-${'é'.repeat(200)}`
  const response = await app.inject({ method: 'POST', url: '/orders', headers: { 'x-request-id': longId } })
  t.equal(response.statusCode, 202, 'published, not an uncoded 500')
  const [message] = await drainQueue(channel, queue)
  const correlationId = message?.properties.correlationId as string
  t.ok(longId.startsWith(correlationId), 'correlationId is the start of the request id')
  t.equal(Buffer.byteLength(correlationId), 254, 'as much as fits without splitting a character')
  t.equal(message?.properties.headers?.['x-request-id'], longId, 'the whole id in the header')
})
