// Pure ack bookkeeping against a fake channel. The same behaviours run against the
// real broker in consume.test.ts, retry.test.ts and faults.test.ts.

import { until } from '@fastify-amqp/test-broker'
import type { Channel } from 'amqplib'
import t from 'tap'
import { ChannelState, Delivery } from '../src/delivery.js'
import { FakeChannel, fakeConsumer, flush } from './fixtures/fake.js'

t.test('a delivery is acked on its own channel only; a lost channel aborts its signal and drops the ack', async (t) => {
  const gates: Array<() => void> = []
  const signals: AbortSignal[] = []
  const { open } = await fakeConsumer({
    handler: async (message) => {
      signals.push(message.signal)
      await new Promise<void>((resolve) => gates.push(resolve))
    },
  })
  const first = await open()
  first.deliver({ n: 1 })
  await flush()
  first.kill()
  t.equal(signals[0]?.aborted, true, 'signal aborted when the channel died')
  t.match(signals[0]?.reason, { code: 'FST_AMQP_CONSUMER_CHANNEL_LOST' })

  const second = await open()
  second.deliver({ n: 1 })
  await flush()
  for (const gate of gates) gate()
  await flush()
  t.same(first.acks, [], 'nothing acked on the dead channel')
  t.same(second.acks, [1], 'the redelivery is acked on the channel it came on')
  t.equal(signals[1]?.aborted, false)
})

t.test('concurrency: deliveries beyond the limit wait locally, in order', async (t) => {
  let running = 0
  let max = 0
  const gates: Array<() => void> = []
  const { open, consumer } = await fakeConsumer({
    concurrency: 3,
    handler: async () => {
      running += 1
      max = Math.max(max, running)
      await new Promise<void>((resolve) => gates.push(resolve))
      running -= 1
    },
  })
  const channel = await open()
  for (let i = 0; i < 10; i += 1) channel.deliver({ i })
  await flush()
  t.equal(consumer.inFlight, 3)
  while (channel.acks.length < 10) {
    gates.shift()?.()
    await flush()
  }
  t.equal(max, 3)
  t.same(channel.acks, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
})

t.test('a failed handler: the original is acked only after the retry publish is confirmed', async (t) => {
  const { open, publisher } = await fakeConsumer({
    retry: { attempts: 3, delay: 200 },
    handler: async () => {
      throw new Error('boom')
    },
  })
  const channel = await open()
  // A retry copy back from its delay queue (the broker's x-death of the hop): its count is believed.
  channel.deliver({ a: 1 }, { 'x-attempt': 2, 'x-death': [{ count: 1, reason: 'expired', queue: 'q.delay.200' }] })
  await flush()
  t.equal(publisher.calls.length, 1)
  const call = publisher.calls[0]!
  t.equal(call.exchange, '')
  t.equal(call.routingKey, 'q.delay.200')
  t.ok(Buffer.isBuffer(call.body), 'the original bytes are sent as they are')
  t.match(call.options, { messageId: 'm1', headers: { 'x-attempt': 3, 'x-last-error': 'boom' }, persistent: true })
  t.same(channel.acks, [], 'not acked while the publish is unconfirmed')
  call.settle.resolve()
  await flush()
  t.same(channel.acks, [1])
})

t.test('a failed republish is tried again, the original held unacked; a closed publisher requeues it', async (t) => {
  const { open, publisher } = await fakeConsumer({
    retry: { attempts: 1 },
    handler: async () => {
      throw new Error('boom')
    },
  })
  const channel = await open()
  channel.deliver({ a: 1 })
  await flush()
  t.equal(publisher.calls[0]?.routingKey, 'q.dlq')
  publisher.calls[0]?.settle.reject(new Error('nacked'))
  await until(() => publisher.calls.length === 2, 5_000, 'the second try')
  t.same(channel.acks, [], 'not acked meanwhile')
  t.same(channel.nacks, [], 'not requeued: the handler does not run again')
  t.equal(publisher.calls[1]?.routingKey, 'q.dlq')
  publisher.calls[1]?.settle.resolve()
  await until(() => channel.acks.length === 1, 5_000, 'the ack')
  t.same(channel.acks, [1])

  channel.deliver({ a: 2 })
  await until(() => publisher.calls.length === 3, 5_000, 'the dead letter of the second')
  publisher.calls[2]?.settle.reject(Object.assign(new Error('closed'), { code: 'FST_AMQP_PUBLISHER_CLOSED' }))
  await until(() => channel.nacks.length === 1, 5_000, 'the requeue')
  t.same(channel.nacks, [{ tag: 2, requeue: true }], 'nothing will go out any more: back to the broker')
  t.equal(publisher.calls.length, 3)
})

t.test('cancel() stops deliveries and requeues the unstarted ones; never acks them', async (t) => {
  const gates: Array<() => void> = []
  const { open, consumer } = await fakeConsumer({
    concurrency: 1,
    handler: () => new Promise<void>((resolve) => gates.push(resolve)),
  })
  const channel = await open()
  channel.deliver({})
  channel.deliver({})
  channel.deliver({})
  await flush()
  await consumer.cancel()
  t.same(channel.cancelled, ['ctag'])
  t.same(channel.nacks, [
    { tag: 2, requeue: true },
    { tag: 3, requeue: true },
  ])
  channel.deliver({})
  t.same(channel.nacks.at(-1), { tag: 4, requeue: true }, 'a delivery racing the cancel goes back too')
  const idle = consumer.idle()
  gates[0]?.()
  await idle
  t.same(channel.acks, [1], 'only the handled one is acked')
})

t.test('the drain timeout abandons running handlers: aborted, never acked', async (t) => {
  const { open, consumer } = await fakeConsumer({
    handler: (message) => new Promise<void>((resolve) => message.signal.addEventListener('abort', () => resolve())),
  })
  const channel = await open()
  channel.deliver({})
  await flush()
  t.equal(consumer.abandon(new Error('drain timeout')), 1)
  await consumer.idle()
  t.same(channel.acks, [])
  t.same(channel.nacks, [])
})

t.test(
  'acks of one turn go out together: one multiple ack for the settled head, single acks behind a slow one',
  async (t) => {
    const gates = new Map<number, () => void>()
    const { open } = await fakeConsumer({
      retry: false,
      handler: async (message) => {
        const n = (message.body as { n: number }).n
        if (n === 1) await new Promise<void>((resolve) => gates.set(n, resolve))
        if (n === 3) throw Object.assign(new Error('bad'), { retryable: false })
      },
      deadLetter: false,
    })
    const channel = await open()
    for (let n = 1; n <= 5; n++) channel.deliver({ n })
    await flush()
    t.same(channel.rejects, [{ tag: 3, requeue: false }], 'the failure is given up at once, with basic.reject')
    t.same(channel.nacks, [], "basic.nack is for requeues that are not the message's fault")
    t.same(channel.acks, [2, 4, 5], 'behind the running first one: acked singly, so prefetch is not held up')
    t.equal(channel.multipleAcks, 0)
    gates.get(1)?.()
    await flush()
    t.same(channel.acks, [2, 4, 5, 1])
    for (let n = 6; n <= 10; n++) channel.deliver({ n })
    await flush()
    t.same(channel.acks.slice(4), [6, 7, 8, 9, 10], 'a burst settled in one turn')
    t.equal(channel.multipleAcks, 2, 'one multiple frame for tag 1, one for the burst of five')
  }
)

t.test('ack coalescing remembers only the unsettled: a stuck delivery does not make the list grow', async (t) => {
  const channel = new FakeChannel()
  const state = new ChannelState(channel as unknown as Channel)
  const raw = (tag: number) => ({ fields: { deliveryTag: tag }, properties: {}, content: Buffer.alloc(0) }) as never
  const stuck = new Delivery(state, raw(1))
  for (let tag = 2; tag <= 5_001; tag++) {
    const delivery = new Delivery(state, raw(tag))
    if (tag % 1_000 === 0) delivery.reject()
    else delivery.ack()
    if (tag % 100 === 0) await flush()
  }
  await flush()
  t.equal(state.tracked, 1, 'only the stuck one is remembered')
  t.equal(channel.acks.length, 4_995, 'the others acked singly')
  t.equal(channel.multipleAcks, 0, 'no multiple ack can pass the stuck one')
  stuck.ack()
  await flush()
  t.equal(channel.multipleAcks, 1)
  t.equal(channel.acks.at(-1), 1)
  t.equal(state.tracked, 0)
})

t.test(
  'a broker cancel gives up that subscription: signal aborted, pending dropped, nothing settled, re-subscribed',
  async (t) => {
    const reasons: unknown[] = []
    const finish: Array<(fail: boolean) => void> = []
    const { open, consumer, publisher } = await fakeConsumer({
      concurrency: 2,
      retry: { attempts: 3, delay: 100 },
      handler: (message) =>
        new Promise<void>((resolve, reject) => {
          message.signal.addEventListener('abort', () => reasons.push(message.signal.reason))
          finish.push((fail) => (fail ? reject(new Error('late failure')) : resolve()))
        }),
    })
    const channel = await open()
    for (let n = 1; n <= 3; n++) channel.deliver({ n })
    await flush()
    t.equal(consumer.inFlight, 2, 'two running, one waiting for a slot')
    channel.brokerCancel()
    t.match(reasons, [{ code: 'FST_AMQP_CONSUMER_CANCELLED' }, { code: 'FST_AMQP_CONSUMER_CANCELLED' }])
    await until(() => channel.consumerTags.length === 2, 5_000, 'the re-subscription')
    t.same(channel.cancelled, ['ctag'], 'the cancelled tag is cancelled on our side too (4.3 keeps it registered)')
    finish[0]?.(false)
    finish[1]?.(true)
    await consumer.idle()
    t.equal(finish.length, 2, 'the waiting delivery was dropped, not run: the broker redelivers it')
    t.same(channel.acks, [], 'no late ack')
    t.same(channel.nacks, [])
    t.equal(publisher.calls.length, 0, 'no retry copy of a message the broker took back')
    channel.deliver({ n: 4 })
    await flush()
    finish[2]?.(false)
    await flush()
    t.same(channel.acks, [4], 'the new subscription is handled and acked as usual')
    t.equal(consumer.info.active, true)
  }
)

t.test(
  'paused and suspended together: publishing back does not end a pause, and resuming waits for both',
  async (t) => {
    const { open, consumer } = await fakeConsumer({ handler: async () => {} })
    const channel = await open()
    t.equal(channel.consumerTags.length, 1, 'subscribed')
    await consumer.pause()
    await consumer.suspend('publishing gone')
    consumer.resume()
    await flush()
    t.equal(consumer.info.active, false, 'still paused after publishing came back')
    t.equal(channel.consumerTags.length, 1, 'no new subscription')
    await consumer.suspend('publishing gone again')
    await consumer.unpause()
    t.equal(consumer.info.active, false, 'still suspended after the pause ended')
    consumer.resume()
    await until(() => channel.consumerTags.length === 2, 5_000, 'the subscription once neither holds it')
    t.equal(consumer.info.active, true)
  }
)
