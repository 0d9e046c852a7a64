// Pure classification of channel closes; the real-broker tests are refused.test.ts and message-size.test.ts.

import t from 'tap'
import { type ChannelRefusal, channelRefusal } from '../src/channel-refusal.js'
import { Entry } from '../src/entry.js'

function entry(exchange: string, bytes: number): Entry {
  return new Entry(exchange, 'k', Buffer.alloc(bytes), {}, 1000, Date.now() + 1000, undefined)
}

const publishClose = (code: number, text: string) => ({ code, classId: 60, methodId: 40, text })

function named(refusal: ChannelRefusal | null) {
  if (refusal?.kind !== 'named') throw new Error(`expected a named refusal, got ${JSON.stringify(refusal)}`)
  return refusal
}

t.test("the broker's size refusal, in 4.x's and older wordings: the limit and who is over it", async (t) => {
  for (const text of [
    'Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - message size 600 is larger than configured max size 500"',
    'PRECONDITION_FAILED - message size 600 is larger than max size 500',
    'PRECONDITION_FAILED - message size 600 larger than max size 500',
  ]) {
    for (const refusal of [channelRefusal(publishClose(406, text), text), channelRefusal(null, text)]) {
      const size = named(refusal)
      t.equal(size.maxMessageBytes, 500, text)
      t.match(size.errorFor(entry('', 501)), { code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE' })
      t.equal(size.errorFor(entry('', 500)), null, 'at the limit is fine')
    }
  }
})

t.test('a missing exchange refuses what goes to it only', async (t) => {
  const text = `NOT_FOUND - no exchange 'orders' in vhost '/'`
  const refusal = named(channelRefusal(publishClose(404, text), text))
  t.equal(refusal.maxMessageBytes, undefined)
  t.match(refusal.errorFor(entry('orders', 1)), { code: 'FST_AMQP_PUBLISHER_EXCHANGE_NOT_FOUND', message: /"orders"/ })
  t.equal(refusal.errorFor(entry('other', 1)), null)
  t.ok(named(channelRefusal(null, text)), 'the text alone (no reply) still names it')
})

t.test('403 on basic.publish: internal exchange, no write permission; the reason is kept', async (t) => {
  for (const text of [
    `ACCESS_REFUSED - cannot publish to internal exchange 'audit' in vhost '/'`,
    `Channel closed by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - write access to exchange 'audit' in vhost '/' refused for user 'app'"`,
  ]) {
    const refusal = named(channelRefusal(publishClose(403, text), text))
    const error = refusal.errorFor(entry('audit', 1))
    t.match(error, { code: 'FST_AMQP_PUBLISHER_ACCESS_REFUSED', message: /"audit" \(ACCESS_REFUSED - / })
    t.notMatch(error?.message, /"\)$/, 'no stray quote from the wrapped text')
    t.equal(refusal.errorFor(entry('other', 1)), null)
  }
})

t.test('a publish refused for a reason the close does not tie to an entry: unnamed, the reply kept', async (t) => {
  const text = `PRECONDITION_FAILED - invalid expiration 'soon': no_integer`
  const refusal = channelRefusal(publishClose(406, text), text)
  t.same(refusal, { kind: 'unnamed', reply: publishClose(406, text) })
  t.equal(channelRefusal(null, text), null, 'without the reply it cannot be told from other closes')
})

t.test('closes no publish caused refuse nothing', async (t) => {
  t.equal(channelRefusal(null, null), null)
  t.equal(channelRefusal(null, 'Connection closed: 320 (CONNECTION-FORCED)'), null)
  const queueDeclare = { code: 404, classId: 50, methodId: 10, text: "NOT_FOUND - no queue 'q' in vhost '/'" }
  t.equal(channelRefusal(queueDeclare, queueDeclare.text), null)
})
