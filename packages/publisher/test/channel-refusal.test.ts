import t from 'tap'
import { channelRefusal } from '../src/channel-refusal.js'
import { Entry } from '../src/entry.js'

function entry(exchange: string, bytes: number): Entry {
  return new Entry(exchange, 'k', Buffer.alloc(bytes), {}, 1000, Date.now() + 1000, undefined)
}

t.test("the broker's size refusal, in 4.x's and older wordings: the limit and who is over it", async (t) => {
  for (const text of [
    'Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - message size 600 is larger than configured max size 500"',
    'PRECONDITION_FAILED - message size 600 is larger than max size 500',
    'PRECONDITION_FAILED - message size 600 larger than max size 500',
  ]) {
    const refusal = channelRefusal(text)
    t.equal(refusal?.maxMessageBytes, 500, text)
    t.match(refusal?.errorFor(entry('', 501)), { code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE' })
    t.equal(refusal?.errorFor(entry('', 500)), null, 'at the limit is fine')
  }
})

t.test('a missing exchange refuses what goes to it only; other closes refuse nothing', async (t) => {
  const refusal = channelRefusal(`NOT_FOUND - no exchange 'orders' in vhost '/'`)
  t.equal(refusal?.maxMessageBytes, undefined)
  t.match(refusal?.errorFor(entry('orders', 1)), { code: 'FST_AMQP_EXCHANGE_NOT_FOUND', message: /"orders"/ })
  t.equal(refusal?.errorFor(entry('other', 1)), null)
  t.equal(channelRefusal(null), null)
  t.equal(channelRefusal('Connection closed: 320 (CONNECTION-FORCED)'), null)
})
