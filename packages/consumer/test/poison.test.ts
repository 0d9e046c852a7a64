import { startBroker } from '@fastify-amqp/test-broker'
import { Type } from '@sinclair/typebox'
import t from 'tap'
import {
  buildApp,
  captureLogs,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

const Order = Type.Object({ id: Type.Integer() })

t.test('poison never loops, never crashes, never reaches the handler', async (t) => {
  const queue = uniqueName('poison')
  const broker = await openBroker(t)
  const handled: unknown[] = []
  const { capture, logger } = captureLogs('warn')
  const app = await buildApp(t, {
    logger,
    consumer: { maxBodyBytes: 1024 },
    declare: (app) => {
      app.consume({
        queue,
        schema: { body: Order },
        retry: { attempts: 3, delay: 100 },
        async handler(message) {
          handled.push(message.body)
        },
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  const json = { contentType: 'application/json' }
  const poison: Array<[string, Buffer, Record<string, unknown>]> = [
    ['invalid-json', Buffer.from('{"id": 1,'), json],
    ['empty', Buffer.alloc(0), json],
    ['content-type', Buffer.from('{"id": 1}'), { contentType: 'text/plain' }],
    ['schema', Buffer.from('{"id": "one"}'), json],
    ['too-large', Buffer.from(JSON.stringify({ id: 1, pad: 'x'.repeat(2_000) })), json],
    ['prototype-poisoning', Buffer.from('{"id": 1, "__proto__": {"polluted": "yes"}}'), json],
    ['prototype-poisoning', Buffer.from('{"id": 1, "constructor": {"prototype": {"polluted": "yes"}}}'), json],
  ]
  for (const [i, [, content, properties]] of poison.entries()) {
    await broker.send(queue, content, { ...properties, messageId: `poison-${i}` })
  }
  // A good message after them: by the time it is handled, the poison ahead of it has been seen.
  await broker.send(queue, { id: 99 }, { messageId: 'good' })
  await until(async () => (await broker.count(`${queue}.dlq`)) === poison.length, 10_000, 'every poison dead-lettered')
  await until(() => handled.length === 1, 10_000, 'the good message')

  // Closed and settled first: a dead letter sent twice (a requeue loop) is in the DLQ by then.
  await app.close()
  t.equal(await settledCount(queue), 0, 'every message acked')
  t.same(handled, [{ id: 99 }], 'only the good message reached the handler')
  const dead = await broker.drainQueue(`${queue}.dlq`)
  const byId = new Map(dead.map((d) => [d.properties.messageId, d]))
  t.equal(dead.length, poison.length, 'each poison message dead-lettered exactly once: no duplicates')
  t.equal(byId.size, poison.length, 'one for each')
  for (const [i, [reason, content]] of poison.entries()) {
    const letter = byId.get(`poison-${i}`)
    const headers = letter?.properties.headers as Record<string, unknown>
    t.equal(headers['x-death-reason'], reason, `poison-${i}: ${reason}`)
    t.equal(headers['x-original-queue'], queue)
    t.equal(headers['x-attempts'], 1)
    t.type(headers['x-error-message'], 'string')
    t.ok(letter?.content.equals(content), `poison-${i}: original bytes kept`)
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype stays clean')
  const rejections = capture.lines.filter((line) => line.msg === 'amqp consumer: rejected message, dead-lettering it')
  t.equal(rejections.length, poison.length, 'each was delivered once: no requeue loop')
  t.match(
    rejections.find((line) => line.reason === 'schema'),
    { err: /\/id/ },
    'the schema error names the field'
  )
  for (const ms of [100]) t.equal(await broker.count(`${queue}.delay.${ms}`), 0, 'poison is never retried')
})

t.test('with deadLetter: false, poison is rejected without requeue (dropped), not looped', async (t) => {
  const queue = uniqueName('poison-nodlq')
  const broker = await openBroker(t)
  const { capture, logger } = captureLogs('warn')
  let handled = 0
  const app = await buildApp(t, {
    logger,
    declare: (app) => {
      app.consume(queue, { deadLetter: false, retry: false }, async () => void handled++)
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })
  await broker.send(queue, Buffer.from('not json'), { contentType: 'application/json' })
  await broker.send(queue, { ok: true })
  await until(() => handled === 1, 10_000, 'the good message')
  t.equal(capture.lines.filter((line) => line.msg === 'amqp consumer: message rejected').length, 1)
  await app.close()
  t.equal(await settledCount(queue), 0)
})

t.test(
  "a body over the publisher's maxMessageBytes, taken by a broker allowing it, is still dead-lettered",
  async (t) => {
    // A broker with a higher max_message_size than the publisher's default 16 MiB (3.x allows 128 MiB by default).
    const node = await startBroker({ config: ['max_message_size = 33554432'] })
    t.teardown(() => node.dispose())
    const queue = uniqueName('poison-huge')
    const broker = await openBroker(t, node.url)
    const app = await buildApp(t, {
      connection: { url: node.url },
      publisher: true,
      declare: (app) => {
        app.consume(queue, { retry: false }, async () => {})
      },
    })
    t.teardown(() => app.close())
    const huge = Buffer.alloc(17 * 1024 * 1024, 0x20)
    await broker.send(queue, huge, { contentType: 'application/json' })
    await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 30_000, 'the huge message in the DLQ')
    const [dead] = await broker.drainQueue(`${queue}.dlq`)
    t.equal(dead?.content.length, huge.length, 'all of it')
    t.equal(dead?.properties.headers?.['x-death-reason'], 'too-large')
    await app.close()
    t.equal(await settledCount(queue, { ctl: (...args) => node.rabbitmqctl(...args) }), 0)
  }
)
