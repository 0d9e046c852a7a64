import type { MessageProperties } from 'amqplib'
import t from 'tap'
import { deadLetterOptions, retryOptions } from '../src/republish.js'

const brokerHeaders = {
  'x-death': [{ count: 1, reason: 'expired', queue: 'q.delay.100' }],
  'x-first-death-reason': 'expired',
  'x-first-death-queue': 'q.delay.100',
  'x-first-death-exchange': '',
  'x-last-death-reason': 'expired',
  'x-last-death-queue': 'q.delay.100',
  'x-last-death-exchange': '',
  'x-delivery-count': 3,
  'x-acquired-count': 4,
}
const properties = {
  messageId: 'm1',
  headers: { tenant: 'acme', 'x-attempt': 2, ...brokerHeaders },
} as never as MessageProperties

t.test("republishes keep the message's own headers and drop the broker's about an earlier hop", async (t) => {
  const retry = retryOptions(properties, 3, new Error('again'))
  t.same(retry.headers, { tenant: 'acme', 'x-attempt': 3, 'x-last-error': 'again' })
  const dead = deadLetterOptions(properties, {
    reason: 'handler-error',
    error: 'boom',
    queue: 'q',
    attempts: 3,
    exchange: '',
    routingKey: 'q',
  })
  t.match(dead.headers, { tenant: 'acme', 'x-attempt': 2, 'x-death-reason': 'handler-error', 'x-attempts': 3 })
  for (const key of Object.keys(brokerHeaders)) t.notOk(key in (dead.headers ?? {}), `${key} is not copied`)
})
