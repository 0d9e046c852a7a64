// Publishes the broker would close the channel for, each written beside 100 ordinary ones: the culprit
// is refused quickly with its own code, every neighbour is confirmed, nothing waits for a confirm timeout.

import { randomUUID } from 'node:crypto'
import { sharedRabbitmqctl } from '@fastify-amqp/test-broker'
import t, { type Test } from 'tap'
import type { PublisherPluginOptions, PublishOptions } from '../src/index.js'
import { buildApp, drainQueue, rawChannel, SHARED_URL, tempQueue, uniqueName } from './fixtures/helpers.js'

const NEIGHBOURS = 100
// Well above what a refusal takes, well below the confirm timeout: a neighbour waiting for it would show.
const REFUSED_WITHIN = 1_000
const CONFIRM_TIMEOUT = 20_000

interface Culprit {
  exchange?: string
  routingKey?: string
  body?: unknown
  options?: PublishOptions
}

/** 100 ordinary publishes to `queue` with the culprit issued in their middle, all at once. */
async function beside(publish: ReturnType<typeof publisherOf>, queue: string, culprit: Culprit) {
  const started = Date.now()
  let refusedAfter = Number.NaN
  const refused = publish(culprit.exchange ?? '', culprit.routingKey ?? queue, culprit.body ?? { culprit: true }, {
    ...culprit.options,
  }).then(
    () => null,
    (err: unknown) => {
      refusedAfter = Date.now() - started
      return err as Error & { code?: string; mayHaveArrived?: boolean }
    }
  )
  const ordinary: Promise<unknown>[] = []
  for (let n = 0; n < NEIGHBOURS; n++) {
    ordinary.push(publish('', queue, { n }, { messageId: `n-${n}` }))
    if (n === NEIGHBOURS / 2) ordinary.push(refused)
  }
  ordinary.pop() // the culprit is checked on its own
  const results = await Promise.allSettled(ordinary)
  return { refused: await refused, refusedAfter, results }
}

function publisherOf(app: Awaited<ReturnType<typeof buildApp>>) {
  return (exchange: string, routingKey: string, body: unknown, options?: PublishOptions) =>
    app.publisher.publish(exchange, routingKey, body, options)
}

async function check(
  t: Test,
  culprit: Culprit,
  expected: { code: string; message?: RegExp },
  options: PublisherPluginOptions = {}
) {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'refused')
  const app = await buildApp(t, { publisher: { confirmTimeout: CONFIRM_TIMEOUT, ...options } })
  const { refused, refusedAfter, results } = await beside(publisherOf(app), queue, culprit)
  t.match(refused, { ...expected, mayHaveArrived: false }, `the culprit: ${expected.code}`)
  t.ok(refusedAfter < REFUSED_WITHIN, `refused after ${refusedAfter} ms`)
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code?: string }).code] : []))
  t.same(failed, [], 'every neighbour confirmed (no confirm timeout, no refusal)')
  const stored = new Set((await drainQueue(channel, queue)).map((m) => m.properties.messageId as string))
  t.equal(stored.size, NEIGHBOURS, 'the queue holds every neighbour (a re-sent one at most twice)')
  t.notOk(stored.has(undefined as unknown as string))
  await t.resolves(app.publisher.publish('', queue, { after: true }), 'publishing goes on')
}

t.test('an invalid expiration is refused before it is written', async (t) => {
  await check(
    t,
    { options: { expiration: 'soon' } },
    { code: 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES', message: /"expiration"/ }
  )
})

t.test('a userId other than the login is refused before it is written', async (t) => {
  await check(
    t,
    { options: { userId: 'someone-else' } },
    { code: 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES', message: /"userId"/ }
  )
})

t.test('a CC header that is not a list of routing keys is refused before it is written', async (t) => {
  await check(
    t,
    { options: { headers: { CC: 5 } } },
    { code: 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES', message: /"headers.CC"/ }
  )
})

t.test('an over-long correlationId (amqplib would throw) is refused before it is written', async (t) => {
  await check(
    t,
    { options: { correlationId: 'x'.repeat(300) } },
    { code: 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES', message: /"correlationId": 300 bytes/ }
  )
})

t.test('a body over maxMessageBytes is refused before it is written', async (t) => {
  await check(
    t,
    { body: Buffer.alloc(2048) },
    { code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE' },
    { maxMessageBytes: 1024 }
  )
})

t.test('a header amqplib cannot encode (its 64 KiB table buffer) is refused, nothing written', async (t) => {
  await check(
    t,
    { options: { headers: { big: 'x'.repeat(70_000) } } },
    { code: 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES' }
  )
})

t.test('403: a publish to an internal exchange; the broker closes the channel, only the culprit fails', async (t) => {
  await check(
    t,
    { exchange: 'amq.rabbitmq.trace', routingKey: 'x' },
    { code: 'FST_AMQP_PUBLISHER_ACCESS_REFUSED', message: /"amq\.rabbitmq\.trace" \(ACCESS_REFUSED - cannot publish/ }
  )
})

t.test('404: a publish to a missing exchange', async (t) => {
  const missing = uniqueName('no-such-exchange')
  await check(t, { exchange: missing, routingKey: 'x' }, { code: 'FST_AMQP_PUBLISHER_EXCHANGE_NOT_FOUND' })
})

t.test('403: a user without write access to the exchange; the password never shows', async (t) => {
  const user = uniqueName('writer')
  const password = `pw-${randomUUID()}`
  await sharedRabbitmqctl('add_user', user, password)
  t.teardown(() => sharedRabbitmqctl('delete_user', user))
  // Everything but writing to amq.topic.
  await sharedRabbitmqctl('set_permissions', '-p', '/', user, '.*', '^(?!amq\\.topic$).*', '.*')
  const url = new URL(SHARED_URL)
  url.username = user
  url.password = password
  const app = await buildApp(t, { connection: { url: url.toString() }, publisher: { confirmTimeout: CONFIRM_TIMEOUT } })
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'refused')
  const { refused, refusedAfter, results } = await beside(publisherOf(app), queue, {
    exchange: 'amq.topic',
    routingKey: 'x',
  })
  t.match(refused, {
    code: 'FST_AMQP_PUBLISHER_ACCESS_REFUSED',
    message: /"amq\.topic" \(ACCESS_REFUSED - (write )?access to exchange/, // 3.10 says "access"
    mayHaveArrived: false,
  })
  t.notMatch(refused?.message, password)
  t.ok(refusedAfter < REFUSED_WITHIN, `refused after ${refusedAfter} ms`)
  t.equal(results.filter((r) => r.status === 'fulfilled').length, NEIGHBOURS, 'every neighbour confirmed')
  t.equal(new Set((await drainQueue(channel, queue)).map((m) => m.properties.messageId)).size, NEIGHBOURS)
})

t.test('a refusal the close does not tie to one publish: the suspects go out one at a time', async (t) => {
  // Direct reply-to without consuming it: 406, and nothing in the close names the publish.
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'refused')
  const app = await buildApp(t, { publisher: { confirmTimeout: CONFIRM_TIMEOUT } })
  const { refused, refusedAfter, results } = await beside(publisherOf(app), queue, {
    options: { replyTo: 'amq.rabbitmq.reply-to' },
  })
  t.match(refused, {
    code: 'FST_AMQP_PUBLISHER_REFUSED',
    message: /406: .*fast reply consumer does not exist/,
    mayHaveArrived: false,
  })
  t.ok(refusedAfter < CONFIRM_TIMEOUT / 4, `found after ${refusedAfter} ms, long before the confirm timeout`)
  t.equal(results.filter((r) => r.status === 'fulfilled').length, NEIGHBOURS, 'every neighbour confirmed')
  t.equal(new Set((await drainQueue(channel, queue)).map((m) => m.properties.messageId)).size, NEIGHBOURS)
})
