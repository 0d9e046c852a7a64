import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { NonRetryableError } from '../src/index.js'
import type { PublisherLike } from '../src/types.js'
import {
  buildApp,
  deferred,
  deleteConsumerQueues,
  openBroker,
  queueCounts,
  rejectUntilDeadLettered,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

function publisherOf(app: FastifyInstance): PublisherLike {
  return (app as unknown as { publisher: PublisherLike }).publisher
}

t.test('a failing handler is retried with the configured delays, then dead-lettered with headers', async (t) => {
  const queue = uniqueName('retry')
  const delays = [200, 400]
  const broker = await openBroker(t)
  const tries: Array<{ attempt: number; at: number; redelivered: boolean }> = []
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume({
        queue,
        retry: { attempts: 3, delay: { initial: 200, factor: 2 } },
        async handler(message) {
          tries.push({ attempt: message.attempt, at: performance.now(), redelivered: message.redelivered })
          throw new Error(`card declined (try ${message.attempt})`)
        },
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, delays)
  })
  t.same(app.consumers[0]?.delayQueues, [`${queue}.delay.200`, `${queue}.delay.400`])
  await broker.send(queue, { order: 7 }, { messageId: 'order-7', correlationId: 'req-7', headers: { tenant: 'acme' } })
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 10_000, 'the dead letter')

  t.same(
    tries.map((x) => x.attempt),
    [1, 2, 3],
    'attempts: 3 means three tries in all'
  )
  const gaps = [tries[1]!.at - tries[0]!.at, tries[2]!.at - tries[1]!.at]
  t.comment(`measured retry gaps: ${gaps.map((g) => g.toFixed(0)).join(' ms, ')} ms (configured 200, 400)`)
  for (const [i, gap] of gaps.entries()) {
    const want = delays[i]!
    t.ok(gap >= want - 20 && gap <= want + 600, `gap ${i + 1} (${gap.toFixed(0)} ms) is about ${want} ms`)
  }
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  t.same(JSON.parse(String(dead?.content)), { order: 7 }, 'the original bytes')
  t.match(dead?.properties, {
    messageId: 'order-7',
    correlationId: 'req-7',
    contentType: 'application/json',
    headers: {
      tenant: 'acme',
      'x-death-reason': 'handler-error',
      'x-error-message': 'card declined (try 3)',
      'x-original-queue': queue,
      'x-attempts': 3,
      'x-attempt': 3,
    },
  })
  const failedAt = Date.parse(
    String((dead?.properties.headers as Record<string, unknown> | undefined)?.['x-failed-at'])
  )
  t.ok(Math.abs(Date.now() - failedAt) < 60_000, 'x-failed-at is an ISO time of now')
  for (const ms of delays) t.equal(await broker.count(`${queue}.delay.${ms}`), 0, `delay queue ${ms} is empty`)
  await app.close()
  t.equal(await settledCount(queue), 0, 'the original was acked')
})

t.test('a non-retryable error skips the retries', async (t) => {
  const queue = uniqueName('nonretry')
  const broker = await openBroker(t)
  let calls = 0
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume(queue, { retry: { attempts: 5, delay: 100 } }, async (message) => {
        calls += 1
        if ((message.body as { plain?: boolean }).plain) {
          throw Object.assign(new Error('also final'), { retryable: false })
        }
        throw new NonRetryableError('unknown customer')
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  await broker.send(queue, { id: 1 })
  await broker.send(queue, { plain: true })
  await until(async () => (await broker.count(`${queue}.dlq`)) === 2, 10_000, 'two dead letters')
  t.equal(calls, 2, 'one try each')
  const dead = await broker.drainQueue(`${queue}.dlq`)
  t.same(dead.map((d) => (d.properties.headers as Record<string, unknown>)['x-error-message']).sort(), [
    'also final',
    'unknown customer',
  ])
  t.same(
    dead.map((d) => (d.properties.headers as Record<string, unknown>)['x-attempts']),
    [1, 1]
  )
})

t.test('the original is acked only after the retry publish is confirmed (shared app.publisher)', async (t) => {
  const queue = uniqueName('ackorder')
  const broker = await openBroker(t)
  const attempts: number[] = []
  const gate = deferred()
  const held = deferred()
  const app = await buildApp(t, {
    publisher: true,
    declare: (app) => {
      app.consume(queue, { retry: { attempts: 2, delay: 50 } }, async (message) => {
        attempts.push(message.attempt)
        if (message.attempt === 1) throw new Error('first try fails')
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [50])
  })
  // Hold the consumer's republish: it uses the publisher plugin's instance.
  const publisher = publisherOf(app)
  const real = publisher.publish.bind(publisher)
  publisher.publish = async (...args) => {
    held.resolve()
    await gate.promise
    return real(...args)
  }
  await broker.send(queue, { n: 1 })
  await held.promise
  t.same(await queueCounts(queue), { ready: 0, unacked: 1 }, 'unacked while the retry publish is unconfirmed')
  t.equal(await broker.count(`${queue}.delay.50`), 0)
  gate.resolve()
  await until(() => attempts.length === 2, 10_000, 'the retry')
  t.same(attempts, [1, 2])
  await app.close()
  t.equal(await settledCount(queue), 0)
  t.equal(await broker.count(`${queue}.dlq`), 0)
})

t.test('a failed republish is tried again with the original held: the handler does not run again', async (t) => {
  const queue = uniqueName('republish')
  const broker = await openBroker(t)
  const seen: Array<{ attempt: number; redelivered: boolean }> = []
  const app = await buildApp(t, {
    publisher: true,
    declare: (app) => {
      app.consume(queue, { retry: { attempts: 2, delay: 50 } }, async (message) => {
        seen.push({ attempt: message.attempt, redelivered: message.redelivered })
        if (seen.length === 1) throw new Error('fails once')
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [50])
  })
  const publisher = publisherOf(app)
  const real = publisher.publish.bind(publisher)
  let failures = 0
  publisher.publish = async (...args) => {
    if (failures++ === 0) throw new Error('broker said no')
    return real(...args)
  }
  await broker.send(queue, { n: 1 })
  await until(() => seen.length === 2, 10_000, 'the retry')
  t.same(
    seen,
    [
      { attempt: 1, redelivered: false },
      { attempt: 2, redelivered: false },
    ],
    'the second run is the scheduled retry, not a redelivery'
  )
  t.equal(failures, 2, 'the republish was tried twice')
  await app.close()
  t.equal(await settledCount(queue), 0)
  t.equal(await broker.count(`${queue}.dlq`), 0)
})

t.test("a quorum queue's delivery limit dead-letters to the DLQ: the broker never drops", async (t) => {
  const queue = uniqueName('limit')
  const broker = await openBroker(t)
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume({ queue, queueOptions: { type: 'quorum', deliveryLimit: 1 }, retry: false, handler: async () => {} })
    },
  })
  t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
  await app.close() // the queues are declared; now play a client that keeps requeueing
  await broker.send(queue, { n: 1 })
  const requeued = await rejectUntilDeadLettered(broker, queue, 10_000)
  t.ok(requeued >= 2, `dead-lettered once requeued past the limit of 1 (${requeued} requeues)`)
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  t.same(JSON.parse(dead?.content.toString() ?? 'null'), { n: 1 })
  t.match(dead?.properties.headers, { 'x-first-death-reason': 'delivery_limit', 'x-first-death-queue': queue })
  t.equal(await broker.count(queue), 0)
})

t.test("a dead letter carries none of the broker's x-death headers from the delay queue it went through", async (t) => {
  const queue = uniqueName('xdeath')
  const broker = await openBroker(t)
  const headersSeen: Array<Record<string, unknown>> = []
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume(queue, { retry: { attempts: 2, delay: 100 } }, async (message) => {
        headersSeen.push({ ...message.headers })
        throw new Error(`fails (try ${message.attempt})`)
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
  await broker.send(queue, { n: 1 }, { headers: { tenant: 'acme' } })
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 10_000, 'the dead letter')
  t.match(
    headersSeen[1],
    { 'x-death': [{ reason: 'expired' }], 'x-first-death-reason': 'expired' },
    'the hop added them'
  )
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  const headers = (dead?.properties.headers ?? {}) as Record<string, unknown>
  t.match(headers, { tenant: 'acme', 'x-death-reason': 'handler-error', 'x-attempts': 2 })
  const copied = Object.keys(headers).filter((key) => /^x-(death|first-death-.*|last-death-.*)$/.test(key))
  t.same(copied, [], 'no x-death, x-first-death-* or x-last-death-* copied from the earlier hop')
})
