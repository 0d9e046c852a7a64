import type { FastifyBaseLogger } from 'fastify'
import t from 'tap'
import { ManagedConnection } from '../src/managed-connection.js'
import { resolveOptions } from '../src/options.js'
import { usernameOf } from '../src/username.js'
import { buildApp, proxied, SHARED_URL } from './fixtures/helpers.js'

t.test('usernameOf: the login amqplib sends for a URL', async (t) => {
  t.equal(usernameOf('amqp://orders:pw@h'), 'orders')
  t.equal(usernameOf('amqp://al%40ice:pw@h'), 'al@ice', 'decoded')
  t.equal(usernameOf('amqp://h:5672/vh'), 'guest', "amqplib's default without credentials")
  t.equal(usernameOf('amqp://:pw@h'), '', 'a password without a user logs in as the empty user, as amqplib does')
})

t.test('ManagedConnection.username while down is that of the URL the next attempt uses', async (t) => {
  const log = { debug() {}, info() {}, warn() {}, error() {} } as unknown as FastifyBaseLogger
  const options = resolveOptions({ url: ['amqp://first:pw@127.0.0.1:1', 'amqp://second:pw@127.0.0.1:2'] })
  const connection = new ManagedConnection({ ...options, role: 'publish', log, secrets: [] })
  t.equal(connection.status, 'connecting')
  t.equal(connection.username, 'first')
  connection.follow(1)
  t.equal(connection.username, 'second')
  await connection.close()
})

t.test('ManagedConnection.username when up is that of the URL it is connected through', async (t) => {
  const proxy = await proxied(t)
  proxy.refuse()
  const refused = new URL(proxy.url(SHARED_URL))
  refused.username = 'nobody'
  const app = await buildApp(t, { url: [refused.toString(), SHARED_URL] })
  const expected = usernameOf(SHARED_URL)
  t.equal(app.amqp.connection('publish').node, 1, 'connected through the second URL')
  t.equal(app.amqp.connection('publish').username, expected)
  t.equal(app.amqp.connection('consume').username, expected)
})
