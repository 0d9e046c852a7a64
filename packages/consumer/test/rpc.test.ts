import amqp from '@fastify-amqp/connection'
import publisherPlugin from '@fastify-amqp/publisher'
import { startFaultProxy } from '@fastify-amqp/test-broker'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { NonRetryableError } from '../src/index.js'
import {
  buildApp,
  captureLogs,
  deferred,
  deleteConsumerQueues,
  SHARED_URL,
  uniqueName,
  until,
} from './fixtures/helpers.js'

/** A responder: doubles `n`, fails on `fail`, waits for `hold` to resolve when `slow` is set. */
async function responder(t: Test, queue: string, hold: Promise<void> = Promise.resolve()) {
  const { capture, logger } = captureLogs('debug')
  const app = await buildApp(t, {
    logger,
    publisher: true,
    consumer: { retry: false },
    declare: (app) => {
      app.consume(queue, { prefetch: 250 }, async (message) => {
        const { n, fail, slow } = message.body as { n: number; fail?: string; slow?: boolean }
        if (slow) await hold
        if (fail) throw new NonRetryableError(fail)
        return { doubled: n * 2 }
      })
    },
  })
  t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
  return { app, capture }
}

/** An app with only the connection and the publisher: the requesting side. */
async function requester(t: Test, url = SHARED_URL, routes?: (app: FastifyInstance) => void) {
  const { capture, logger } = captureLogs('debug')
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  await app.register(amqp, {
    url,
    connectionName: uniqueName('requester'),
    reconnect: { initialDelay: 50, maxDelay: 500 },
  })
  await app.register(publisherPlugin, { requestTimeout: 10_000 })
  routes?.(app)
  await app.ready()
  return { app, capture }
}

t.test('200 concurrent requests, each resolved with its own answer', async (t) => {
  const queue = uniqueName('rpc')
  await responder(t, queue)
  const { app } = await requester(t)
  const answers = await Promise.all(
    Array.from({ length: 200 }, (_, n) => app.publisher.request<{ doubled: number }>('', queue, { n }))
  )
  t.same(
    answers.map((answer) => answer.doubled),
    Array.from({ length: 200 }, (_, n) => n * 2)
  )
})

t.test('a slow responder: rejected within the timeout; its late reply is dropped quietly', async (t) => {
  const queue = uniqueName('rpc-slow')
  const hold = deferred<void>()
  const { app: server } = await responder(t, queue, hold.promise)
  const { app, capture } = await requester(t)
  const started = Date.now()
  const error = await app.publisher.request('', queue, { n: 1, slow: true }, { timeout: 300 }).catch((err) => err)
  t.match(error, { code: 'FST_AMQP_PUBLISHER_REQUEST_TIMEOUT', statusCode: 504, mayHaveArrived: true })
  t.ok(Date.now() - started < 2_000, 'rejected at its timeout')
  hold.resolve()
  await until(() => server.consumers[0]?.inFlight === 0, 10_000, 'the slow handler to finish and reply')
  await until(() => /late reply/.test(capture.text()), 10_000, 'the late reply to be seen and dropped')
  t.same(await app.publisher.request('', queue, { n: 4 }), { doubled: 8 }, 'the next request is answered')
})

t.test('a connection cut rejects the pending requests at once; requests after it are answered', async (t) => {
  const queue = uniqueName('rpc-cut')
  const hold = deferred<void>()
  const { app: server } = await responder(t, queue, hold.promise)
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
  t.teardown(() => proxy.close())
  const { app } = await requester(t, proxy.url(SHARED_URL))
  t.same(await app.publisher.request('', queue, { n: 1 }), { doubled: 2 })
  const pending = Array.from({ length: 5 }, () =>
    app.publisher.request('', queue, { n: 2, slow: true }).catch((err) => err)
  )
  await until(() => server.consumers[0]?.inFlight === 5, 10_000, 'the five requests held by the slow handlers')
  const cutAt = Date.now()
  proxy.cut()
  const errors = await Promise.all(pending)
  t.ok(Date.now() - cutAt < 5_000, 'rejected at the cut, not at their timeout')
  for (const error of errors) t.match(error, { code: 'FST_AMQP_PUBLISHER_REQUEST_LOST', mayHaveArrived: true })
  hold.resolve()
  await until(() => app.amqp.status === 'connected', 15_000, 'the requester to reconnect')
  t.same(await app.publisher.request('', queue, { n: 21 }), { doubled: 42 }, 'answered after the reconnect')
})

t.test("a responder's failure rejects the caller with a coded remote error carrying its message", async (t) => {
  const queue = uniqueName('rpc-fail')
  const { app: server } = await responder(t, queue)
  const { app } = await requester(t)
  const error = await app.publisher.request('', queue, { n: 1, fail: 'out of stock' }).catch((err) => err)
  t.match(error, {
    code: 'FST_AMQP_PUBLISHER_REMOTE_ERROR',
    statusCode: 502,
    message: /out of stock/,
    remoteCode: 'FST_AMQP_CONSUMER_NON_RETRYABLE',
  })
  await until(
    async () => {
      const ch = await server.amqp.channel().waitForOpen()
      return (await ch.checkQueue(`${queue}.dlq`)).messageCount === 1
    },
    10_000,
    'the failed request dead-lettered as any failure'
  )
})

t.test('a request nobody consumes: unroutable at once; an invalid body never leaves', async (t) => {
  const { app } = await requester(t)
  await t.rejects(app.publisher.request('', uniqueName('nobody'), { n: 1 }), {
    code: 'FST_AMQP_PUBLISHER_UNROUTABLE',
    mayHaveArrived: false,
  })
  await t.rejects(app.publisher.request('', 'q', { big: 1n }), { code: 'FST_AMQP_PUBLISHER_INVALID_MESSAGE' })
})

t.test('reply.rpc in a route answers the HTTP request with the reply', async (t) => {
  const queue = uniqueName('rpc-route')
  await responder(t, queue)
  const { app } = await requester(t, SHARED_URL, (app) => {
    app.get('/double/:n', async (request, reply) =>
      reply.rpc('', queue, { n: Number((request.params as { n: string }).n) })
    )
  })
  const response = await app.inject({ url: '/double/21' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { doubled: 42 })
})
