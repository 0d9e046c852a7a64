// Pure bookkeeping of the in-flight bound, settled entries and refusals against a fake channel;
// the real-broker tests beside them are never-confirms.test.ts and refused.test.ts.

import t from 'tap'
import { fakePublisher, flush, track } from './fixtures/fake.js'

const PUBLISH_CLOSE = { classId: 60, methodId: 40 }

t.test('written-but-unconfirmed is capped: the rest wait in the buffer and go out as confirms come', async (t) => {
  const { publisher, open } = fakePublisher({ inflight: { maxMessages: 3 } })
  const ch = open()
  const p = [1, 2, 3, 4, 5].map((n) => track(publisher.publish('', 'q', { n })))
  t.equal(ch.written.length, 3, 'three on the wire')
  t.equal(publisher.pending, 5, 'all five accepted')
  ch.ack(2, true)
  t.equal(ch.written.length, 5, 'two confirms, two more written')
  ch.ack(5, true)
  await flush()
  t.same(
    p.map((s) => s.status),
    ['resolved', 'resolved', 'resolved', 'resolved', 'resolved']
  )
})

t.test(
  'the byte bound: a message that does not fit waits; one larger than the bound still goes out alone',
  async (t) => {
    const { publisher, open } = fakePublisher({ inflight: { maxBytes: 100 } })
    const ch = open()
    track(publisher.publish('', 'q', Buffer.alloc(60)))
    track(publisher.publish('', 'q', Buffer.alloc(60)))
    t.equal(ch.written.length, 1, '120 bytes would pass 100')
    ch.ack(1)
    t.equal(ch.written.length, 2)
    const huge = track(publisher.publish('', 'q', Buffer.alloc(500)))
    t.equal(ch.written.length, 2, 'waits while anything is in flight')
    ch.ack(2)
    t.equal(ch.written.length, 3, 'then goes out alone')
    ch.ack(3)
    await flush()
    t.equal(huge.status, 'resolved')
  }
)

t.test('past the buffer too: FST_AMQP_PUBLISHER_BUFFER_FULL, never stored', async (t) => {
  const { publisher, open } = fakePublisher({ inflight: { maxMessages: 1 }, buffer: { maxMessages: 1 } })
  open()
  track(publisher.publish('', 'q', { n: 1 }))
  track(publisher.publish('', 'q', { n: 2 }))
  await t.rejects(publisher.publish('', 'q', { n: 3 }), {
    code: 'FST_AMQP_PUBLISHER_BUFFER_FULL',
    mayHaveArrived: false,
  })
})

t.test('a settled entry drops its body at once, though its tag is still unconfirmed', async (t) => {
  const gc = (globalThis as { gc?: () => void }).gc
  t.ok(gc, 'runs with --expose-gc (.taprc node-arg)')
  const { publisher, open } = fakePublisher()
  const ch = open()
  // Made in here, so nothing in this test holds the body but the publisher and the fake's record.
  const expired = track(publisher.publish('', 'q', Buffer.alloc(1024, 1), { timeout: 10 }))
  const body = new WeakRef(ch.written[0]?.content as Buffer)
  ch.written.length = 0
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.match(expired, { status: 'rejected', error: { code: 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT', mayHaveArrived: true } })
  t.equal(publisher.pending, 0)
  // The window still holds the entry (tag 1 is not confirmed), not its body.
  gc?.()
  t.equal(body.deref(), undefined, 'the body was collected')
})

t.test(
  'a window full of expired publishes: the channel is recycled and the waiting ones go out on a fresh one',
  async (t) => {
    const { publisher, open, lose } = fakePublisher({ inflight: { maxMessages: 2 } })
    const ch = open()
    const expired = [1, 2].map((n) => track(publisher.publish('', 'q', { n }, { timeout: 10 })))
    const waiting = track(publisher.publish('', 'q', { n: 3 }, { timeout: 5_000 }))
    t.equal(ch.written.length, 2)
    await new Promise((resolve) => setTimeout(resolve, 60))
    t.same(
      expired.map((s) => s.error?.code),
      ['FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT', 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT']
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
    t.equal(ch.closes, 1, 'the channel that confirms nothing is closed')
    lose()
    const ch2 = open()
    t.same(
      ch2.written.map((w) => JSON.parse(w.content.toString()).n),
      [3],
      'only the live one goes out again'
    )
    ch2.ack(1)
    await flush()
    t.equal(waiting.status, 'resolved')
  }
)

t.test('mayHaveArrived: false only when no copy can be stored', async (t) => {
  const { publisher, open, lose } = fakePublisher({ retryNacked: false, closeTimeout: 0 })
  const ch = open()
  const returned = track(publisher.publish('amq.direct', 'nowhere', { n: 1 }))
  const nacked = track(publisher.publish('', 'q', { n: 2 }))
  // Written, lost with its channel, then nacked on the next: the first copy may be stored.
  const lostThenNacked = track(publisher.publish('', 'q', { n: 3 }))
  ch.returned(ch.ids()[0] as string)
  ch.ack(1)
  ch.nack(2)
  await flush()
  t.match(returned.error, { code: 'FST_AMQP_PUBLISHER_UNROUTABLE', mayHaveArrived: false })
  t.match(nacked.error, { code: 'FST_AMQP_PUBLISHER_NACK', mayHaveArrived: false })
  lose()
  const ch2 = open()
  const writtenThenClosed = track(publisher.publish('', 'q', { n: 4 }))
  ch2.nack(1)
  await flush()
  t.match(lostThenNacked.error, { code: 'FST_AMQP_PUBLISHER_NACK', mayHaveArrived: true })
  lose()
  await publisher.close()
  t.match(writtenThenClosed.error, { code: 'FST_AMQP_PUBLISHER_CLOSED', mayHaveArrived: true })
  await t.rejects(publisher.publish('', 'q', {}), { code: 'FST_AMQP_PUBLISHER_CLOSED', mayHaveArrived: false })
})

t.test('never written (offline until its deadline): the timeout says it cannot arrive', async (t) => {
  const { publisher } = fakePublisher()
  const offline = track(publisher.publish('', 'q', { n: 1 }, { timeout: 10 }))
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.match(offline.error, { code: 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT', mayHaveArrived: false })
})

t.test('a publish refusal the close does not name: suspects one at a time, the culprit refused alone', async (t) => {
  const { publisher, open, lose } = fakePublisher()
  const ch = open()
  const p = [1, 2, 3].map((n) => track(publisher.publish('', 'q', { n })))
  const text = 'PRECONDITION_FAILED - something about one of them'
  lose(text, { code: 406, ...PUBLISH_CLOSE })
  const later = track(publisher.publish('', 'q', { n: 4 }))
  const ch2 = open()
  t.equal(ch2.written.length, 1, 'one suspect on the wire')
  ch2.ack(1)
  t.equal(ch2.written.length, 2, 'the next after its confirm')
  lose(text, { code: 406, ...PUBLISH_CLOSE })
  await flush()
  t.match(p[1]?.error, {
    code: 'FST_AMQP_PUBLISHER_REFUSED',
    message: /406: PRECONDITION_FAILED/,
    mayHaveArrived: false,
  })
  const ch3 = open()
  t.same(
    ch3.written.map((w) => JSON.parse(w.content.toString()).n),
    [3, 4],
    'the last suspect, then the buffer pipelined again behind it'
  )
  ch3.ack(2, true)
  await flush()
  t.same([p[0]?.status, p[2]?.status, later.status], ['resolved', 'resolved', 'resolved'])
  t.equal(ch.written.length + ch2.written.length + ch3.written.length, 3 + 2 + 2, 'each neighbour re-sent once')
})

t.test('a named refusal fails what it names, queued ones too; the rest go out again once', async (t) => {
  const { publisher, open, lose } = fakePublisher()
  const ch = open()
  const ok = track(publisher.publish('', 'q', { n: 1 }))
  const bad = track(publisher.publish('gone', 'k', { n: 2 }))
  lose(`NOT_FOUND - no exchange 'gone' in vhost '/'`, { code: 404, ...PUBLISH_CLOSE })
  const queued = track(publisher.publish('gone', 'k', { n: 3 }))
  await flush()
  t.match(bad.error, { code: 'FST_AMQP_PUBLISHER_EXCHANGE_NOT_FOUND', mayHaveArrived: false })
  t.equal(queued.status, 'pending', 'a publish after the close is written: the exchange may exist by now')
  const ch2 = open()
  t.same(
    ch2.written.map((w) => JSON.parse(w.content.toString()).n),
    [1, 3]
  )
  ch2.ack(2, true)
  await flush()
  t.equal(ok.status, 'resolved')
  t.equal(ch.written.length, 2)
})

t.test('a channel closed without a publish at fault: everything goes out again, pipelined', async (t) => {
  const { publisher, open, lose } = fakePublisher()
  open()
  const p = [1, 2, 3].map((n) => track(publisher.publish('', 'q', { n })))
  lose('Connection closed: 320 (CONNECTION-FORCED)', { code: 320, classId: 0, methodId: 0 })
  const ch2 = open()
  t.equal(ch2.written.length, 3, 'no probe')
  ch2.ack(3, true)
  await flush()
  t.same(
    p.map((s) => s.status),
    ['resolved', 'resolved', 'resolved']
  )
})
