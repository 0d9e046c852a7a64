// Pure bookkeeping against a fake channel; each behaviour also has a real-broker test beside it.

import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { MessageIds } from '../src/message-id.js'
import { fakePublisher, flush, track } from './fixtures/fake.js'

t.test('resolves only on the ack of its own delivery tag; multiple acks settle all up to the tag', async (t) => {
  const { publisher, open } = fakePublisher()
  const ch = open()
  const p = [1, 2, 3, 4].map((n) => track(publisher.publish('', 'q', { n })))
  await flush()
  t.same(
    p.map((s) => s.status),
    ['pending', 'pending', 'pending', 'pending']
  )
  ch.ack(2)
  await flush()
  t.same(
    p.map((s) => s.status),
    ['pending', 'resolved', 'pending', 'pending'],
    'a single ack settles only its tag'
  )
  ch.ack(3, true)
  await flush()
  t.same(
    p.map((s) => s.status),
    ['resolved', 'resolved', 'resolved', 'pending'],
    'multiple: every tag up to 3'
  )
  ch.ack(4)
  await flush()
  t.equal(publisher.pending, 0)
  t.equal(p[0]?.value && (p[0].value as { messageId: string }).messageId, ch.written[0]?.options.messageId)
})

t.test('a nack: nothing more on that channel; it is recycled and the message goes out again on the next', async (t) => {
  const { publisher, open, lose } = fakePublisher()
  const ch = open()
  const p = [1, 2, 3].map((n) => track(publisher.publish('', 'q', { n })))
  ch.nack(2, true)
  ch.ack(3)
  const later = track(publisher.publish('', 'q', { n: 4 }))
  await flush()
  t.same(
    p.map((s) => s.status),
    ['pending', 'pending', 'resolved'],
    'nacked messages wait for a fresh channel; the ack still counts'
  )
  t.equal(ch.written.length, 3, 'nothing more is written on the channel that nacked')
  await sleep(5)
  t.equal(ch.closes, 1, 'the nacking channel is closed')
  lose()
  const ch2 = open()
  t.same(
    ch2.written.map((w) => JSON.parse(w.content.toString()).n),
    [1, 2, 4],
    'the nacked ones first, in order, then the buffer'
  )
  t.same(ch2.ids().slice(0, 2), ch.ids().slice(0, 2), 'same messageId')
  ch2.ack(3, true)
  await flush()
  t.ok([...p, later].every((s) => s.status === 'resolved'))
  t.equal(publisher.pending, 0)
})

t.test(
  'a message nacked until its deadline rejects with FST_AMQP_PUBLISHER_NACK; channels recycle at most 1/s',
  async (t) => {
    const { publisher, open, lose } = fakePublisher()
    let ch = open()
    const p = track(publisher.publish('', 'q', { n: 1 }, { timeout: 300 }))
    const started = Date.now()
    let channels = 1
    while (p.status === 'pending' && Date.now() - started < 10_000) {
      if (ch.written.length > 0) ch.nack(1)
      await sleep(10)
      if (ch.closes > 0) {
        lose()
        ch = open()
        channels += 1
      }
    }
    const elapsed = Date.now() - started
    t.equal(p.status, 'rejected')
    t.equal(p.error?.code, 'FST_AMQP_PUBLISHER_NACK', 'says nack, not timeout')
    t.ok(channels >= 2, 'the nacked message went out again on a fresh channel')
    // The first recycle is immediate; each later one waits a second from the one before.
    t.ok(channels <= 2 + Math.floor(elapsed / 1_000), `at most one recycle a second (${channels} in ${elapsed} ms)`)
    t.equal(publisher.pending, 0)
  }
)

t.test('retryNacked: false rejects at the first nack', async (t) => {
  const { publisher, open } = fakePublisher({ retryNacked: false })
  const ch = open()
  const p = track(publisher.publish('', 'q', {}))
  ch.nack(1)
  await flush()
  t.equal(p.error?.code, 'FST_AMQP_PUBLISHER_NACK')
  await sleep(5)
  t.equal(ch.closes, 1, 'the channel is still recycled')
})

t.test('a return followed by its ack rejects as unroutable, matched by messageId', async (t) => {
  const { publisher, open } = fakePublisher()
  const ch = open()
  const a = track(publisher.publish('ex', 'a', {}))
  const b = track(publisher.publish('ex', 'b', {}))
  ch.returned(ch.written[1]?.options.messageId as string)
  ch.ack(2, true)
  await flush()
  t.equal(a.status, 'resolved')
  t.equal(b.error?.code, 'FST_AMQP_PUBLISHER_UNROUTABLE')
  t.match(b.error?.message, /"ex".*"b"/)
})

t.test('publish() returning false: nothing more is written until drain, and order is kept', async (t) => {
  const { publisher, open } = fakePublisher()
  const ch = open()
  ch.writable = false
  const first = track(publisher.publish('', 'q', { n: 0 }))
  const rest = [1, 2, 3].map((n) => track(publisher.publish('', 'q', { n })))
  t.equal(ch.written.length, 1, 'stopped writing after false')
  t.equal(publisher.pending, 4)
  ch.writable = true
  ch.emit('drain')
  t.same(
    ch.written.map((w) => JSON.parse(w.content.toString()).n),
    [0, 1, 2, 3],
    'drained in order'
  )
  ch.ack(4, true)
  await flush()
  t.equal(first.status, 'resolved')
  t.ok(rest.every((s) => s.status === 'resolved'))
})

t.test('a lost channel: unconfirmed messages go out again first, same messageId, then the buffer', async (t) => {
  const { publisher, open, lose } = fakePublisher()
  const ch1 = open()
  const sent = [0, 1, 2].map((n) => track(publisher.publish('', 'q', { n })))
  ch1.ack(1)
  lose()
  const buffered = [3, 4].map((n) => track(publisher.publish('', 'q', { n })))
  t.equal(publisher.pending, 4, '2 to re-send + 2 buffered')
  const ch2 = open()
  t.same(
    ch2.written.map((w) => JSON.parse(w.content.toString()).n),
    [1, 2, 3, 4]
  )
  t.same(ch2.ids().slice(0, 2), ch1.ids().slice(1, 3), 're-sent with the same messageId')
  ch1.ack(3, true) // a stale confirm from the dead channel changes nothing
  await flush()
  t.equal(sent[1]?.status, 'pending')
  ch2.ack(4, true) // tags start again at 1 on the new channel
  await flush()
  t.ok([...sent, ...buffered].every((s) => s.status === 'resolved'))
  t.equal(publisher.pending, 0)
})

t.test('timeouts: buffered and written publishes reject after their timeout; late acks are ignored', async (t) => {
  const { publisher, open } = fakePublisher({ confirmTimeout: 60_000 })
  const buffered = publisher.publish('', 'q', {}, { timeout: 30 })
  const ch = open()
  const written = publisher.publish('', 'q', {}, { timeout: 30 })
  const patient = track(publisher.publish('', 'q', {}))
  const late = track(written)
  await Promise.all([
    t.rejects(buffered, { code: 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT', statusCode: 503 }),
    t.rejects(written, { code: 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT' }),
  ])
  t.equal(patient.status, 'pending')
  ch.ack(3, true)
  await flush()
  t.equal(late.status, 'rejected', 'a late ack does not resolve a timed-out publish')
  t.equal(patient.status, 'resolved')
  t.equal(publisher.pending, 0)
})

t.test(
  'an AbortSignal rejects, coded, with its reason as cause; aborted buffered messages are never written',
  async (t) => {
    const { publisher, open } = fakePublisher()
    const controller = new AbortController()
    const aborted = track(publisher.publish('', 'q', { n: 1 }, { signal: controller.signal }))
    const kept = track(publisher.publish('', 'q', { n: 2 }))
    controller.abort(new Error('client went away'))
    await flush()
    t.match(aborted.error, {
      code: 'FST_AMQP_PUBLISHER_ABORTED',
      cause: { message: 'client went away' },
      mayHaveArrived: false,
    })
    const ch = open()
    t.same(
      ch.written.map((w) => JSON.parse(w.content.toString()).n),
      [2]
    )
    await t.rejects(publisher.publish('', 'q', {}, { signal: AbortSignal.abort(new Error('already')) }), {
      code: 'FST_AMQP_PUBLISHER_ABORTED',
      cause: { message: 'already' },
    })
    ch.ack(1)
    await flush()
    t.equal(kept.status, 'resolved')
  }
)

t.test('bad arguments reject without being written; a closing channel keeps the message for the next', async (t) => {
  const { publisher, open, lose } = fakePublisher()
  const ch = open()
  await t.rejects(publisher.publish('', 42 as unknown as string, {}), {
    code: 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES',
    message: /"routingKey": expected a string/,
    mayHaveArrived: false,
  })
  t.equal(ch.written.length, 0)
  ch.closing = true
  const p = track(publisher.publish('', 'q', { n: 1 }))
  lose()
  const ch2 = open()
  t.equal(ch2.written.length, 1)
  ch2.ack(1)
  await flush()
  t.equal(p.status, 'resolved')
})

t.test('a 404 for a missing exchange rejects its messages instead of re-sending them', async (t) => {
  const { publisher, open, lose } = fakePublisher()
  open()
  const bad = track(publisher.publish('nope', 'k', {}))
  const good = track(publisher.publish('', 'q', {}))
  lose(`Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - no exchange 'nope' in vhost '/'"`)
  await flush()
  t.equal(bad.error?.code, 'FST_AMQP_PUBLISHER_EXCHANGE_NOT_FOUND')
  const ch2 = open()
  t.equal(ch2.written.length, 1, 'only the other message is sent again')
  ch2.ack(1)
  await flush()
  t.equal(good.status, 'resolved')
})

t.test(
  'a 406 over max_message_size rejects what is over the stated limit, re-sends the rest, refuses later ones here',
  async (t) => {
    const { publisher, open, lose, connection } = fakePublisher({ maxMessageBytes: 1000 })
    open()
    const small = track(publisher.publish('', 'q', Buffer.alloc(100)))
    const big = track(publisher.publish('', 'q', Buffer.alloc(600)))
    const queuedBig = track(publisher.publish('', 'q', Buffer.alloc(700)))
    lose(
      'Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - message size 600 is larger than configured max size 500"'
    )
    await flush()
    t.match(big.error, {
      code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE',
      mayHaveArrived: false,
      message: /600 bytes.*500 bytes/,
    })
    t.equal(
      queuedBig.error?.code,
      'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE',
      'one over the limit still waiting is not sent either'
    )
    const ch2 = open()
    t.equal(ch2.written.length, 1, 'only the small one goes out again')
    ch2.ack(1)
    await flush()
    t.equal(small.status, 'resolved')
    await t.rejects(publisher.publish('', 'q', Buffer.alloc(501)), {
      message: /501 bytes.*500 bytes \(the broker's max_message_size\)/,
    })
    t.equal(ch2.written.length, 1, 'refused before writing: the broker stated its limit')
    connection.emit('connected', {})
    const later = track(publisher.publish('', 'q', Buffer.alloc(501)))
    t.equal(ch2.written.length, 2, 'a new connection starts from maxMessageBytes again')
    ch2.ack(2)
    await flush()
    t.equal(later.status, 'resolved')
    await t.rejects(publisher.publish('', 'q', Buffer.alloc(1001)), { message: /\(maxMessageBytes\)/ })
  }
)

t.test('close(): rejects new publishes, waits for confirms, then rejects what is left', async (t) => {
  const { publisher, open, managed } = fakePublisher({ closeTimeout: 50 })
  const ch = open()
  const a = track(publisher.publish('', 'q', {}))
  const b = track(publisher.publish('', 'q', {}))
  const closing = publisher.close()
  await t.rejects(publisher.publish('', 'q', {}), { code: 'FST_AMQP_PUBLISHER_CLOSED' })
  ch.ack(1)
  await closing
  t.equal(a.status, 'resolved')
  t.equal(b.error?.code, 'FST_AMQP_PUBLISHER_CLOSED')
  t.equal(managed.closed, true)
  ch.ack(2)
  await flush()
  t.equal(b.status, 'rejected', 'nothing resolves after close')
  t.equal(publisher.close(), closing, 'close() twice is the same promise')
})

t.test('options are validated', async (t) => {
  t.throws(() => fakePublisher({ confirmTimeout: 0 }), { code: 'FST_AMQP_PUBLISHER_INVALID_OPTION' })
  t.throws(() => fakePublisher({ buffer: { maxBytes: Number.NaN } }), { message: /buffer.maxBytes/ })
  t.throws(() => fakePublisher({ schemas: 'x' as never }), { message: /schemas/ })
  t.throws(() => fakePublisher({ retryNacked: 'yes' as never }), { message: /retryNacked/ })
  t.throws(() => fakePublisher({ maxMessageBytes: 0 }), { message: /maxMessageBytes/ })
  t.throws(() => fakePublisher({ maxMessageBytes: '1mb' as never }), { message: /maxMessageBytes/ })
  t.doesNotThrow(
    () => fakePublisher({ maxMessageBytes: Number.POSITIVE_INFINITY }),
    'Infinity: the broker alone decides'
  )
})

t.test('message ids: 22 base64url characters, none repeated across pool refills', async (t) => {
  const ids = new MessageIds()
  const seen = new Set<string>()
  for (let i = 0; i < 10_000; i++) seen.add(ids.next())
  t.equal(seen.size, 10_000)
  t.ok([...seen].every((id) => /^[A-Za-z0-9_-]{22}$/.test(id)))
  const other = new MessageIds()
  t.notOk(seen.has(other.next()), 'another instance draws its own random bytes')
})

t.test('a short timeout issued after a sweep skipped the pass still expires on time', async (t) => {
  const { publisher, open } = fakePublisher({ confirmTimeout: 600_000, closeTimeout: 0 })
  open()
  const patient = track(publisher.publish('', 'q', {}))
  await sleep(300) // a sweep (every 250 ms here) found nothing due for ten minutes
  const started = Date.now()
  await t.rejects(publisher.publish('', 'q', {}, { timeout: 50 }), { code: 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT' })
  // Waiting for the long deadline would take ten minutes: this bound holds on any loaded machine.
  t.ok(Date.now() - started < 60_000, 'rejected at its own deadline, not the long one')
  t.equal(patient.status, 'pending')
  await publisher.close() // the pending one would keep the process alive for ten minutes
})
