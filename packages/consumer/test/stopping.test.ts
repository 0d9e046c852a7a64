import t from 'tap'
import { type FakeChannel, fakeConsumer, flush } from './fixtures/fake.js'

/** basic.cancel held until the test answers it, as on a slow (or black-holed) socket. */
function holdCancel(channel: FakeChannel): () => void {
  let answer: () => void = () => {}
  channel.cancel = (tag: string) => {
    channel.cancelled.push(tag)
    return new Promise((resolve) => {
      answer = () => resolve({ consumerTag: tag })
    })
  }
  return () => answer()
}

/** One handler at a time, each held until the test calls its `finish`; `started` lists the bodies' n in order. */
async function gatedConsumer() {
  const started: number[] = []
  const finish: Array<() => void> = []
  const fake = await fakeConsumer({
    concurrency: 1,
    retry: false,
    handlerTimeout: 0,
    handler: async (message) => {
      started.push((message.body as { n: number }).n)
      await new Promise<void>((resolve) => finish.push(resolve))
    },
  })
  return { ...fake, started, finish }
}

t.test('once stopping, nothing waiting starts; it is handed back once basic.cancel is answered', async (t) => {
  const { started, finish, open, consumer } = await gatedConsumer()
  const channel = await open()
  const answer = holdCancel(channel)
  for (const n of [1, 2, 3]) channel.deliver({ n })
  await flush()
  t.same(started, [1])

  const cancelling = consumer.cancel()
  finish[0]?.()
  await flush()
  t.same(started, [1], 'a slot freed while basic.cancel is in flight starts nothing')
  channel.deliver({ n: 4 }) // sent before the cancel reached the broker
  await flush()
  t.same(channel.nacks, [], 'nothing handed back before the broker stopped sending (it could come straight back)')
  answer()
  await cancelling
  t.same(
    channel.nacks,
    [2, 3, 4].map((tag) => ({ tag, requeue: true })),
    'then every unstarted one, in order, with basic.nack'
  )
  t.same(channel.acks, [1], 'the one that ran was acked')
  t.same(started, [1])
})

t.test('suspend: basic.cancel, unstarted handed back, nothing started; resume subscribes again', async (t) => {
  const { started, finish, open, consumer } = await gatedConsumer()
  const channel = await open()
  for (const n of [1, 2]) channel.deliver({ n })
  await flush()
  await consumer.suspend('publishing stopped: test')
  t.equal(consumer.suspended, 'publishing stopped: test')
  t.equal(consumer.active, false)
  t.same(channel.cancelled, ['ctag'])
  t.same(channel.nacks, [{ tag: 2, requeue: true }], 'the unstarted one went back')
  finish[0]?.()
  await flush()
  t.same(channel.acks, [1], 'a handler running at the stop finishes and is acked')
  t.same(started, [1])

  consumer.resume()
  await flush()
  t.equal(consumer.suspended, null)
  t.same(channel.consumerTags, ['ctag', 'ctag-2'], 'subscribed again on the same channel')
  t.equal(consumer.active, true)
  channel.deliver({ n: 3 })
  await flush()
  t.same(started, [1, 3])
})

t.test('suspended when a channel opens: setup declares but does not subscribe until resume', async (t) => {
  const { open, consumer } = await fakeConsumer({ retry: false, handlerTimeout: 0, handler: async () => {} })
  const first = await open()
  await consumer.suspend('publishing stopped: test')
  first.kill()
  const second = await open()
  t.same(second.consumerTags, [], 'not subscribed')
  consumer.resume()
  await flush()
  t.same(second.consumerTags, ['ctag'])
})
