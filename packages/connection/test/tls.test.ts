import { randomBytes } from 'node:crypto'
import { freePort, startBroker, startFaultProxy } from '@fastify-amqp/test-broker'
import t from 'tap'
import { makeCertificates } from './fixtures/certificates.js'
import { buildApp, captureLogs, uniqueName, until } from './fixtures/helpers.js'

// A disposable node with a TLS listener beside its plain one, its certificates from a CA made here; it also
// takes SASL EXTERNAL, the login being the client certificate's common name.
const certs = makeCertificates(uniqueName('tls-client'))
const wrongCa = makeCertificates().ca
const tlsPort = await freePort()
const node = await startBroker({
  files: { 'ca.pem': certs.ca, 'server.pem': certs.serverCert, 'server.key': certs.serverKey },
  plugins: ['rabbitmq_auth_mechanism_ssl'],
  config: [
    `listeners.ssl.default = 127.0.0.1:${tlsPort}`,
    'ssl_options.cacertfile = {dir}/ca.pem',
    'ssl_options.certfile = {dir}/server.pem',
    'ssl_options.keyfile = {dir}/server.key',
    'ssl_options.verify = verify_peer',
    'ssl_options.fail_if_no_peer_cert = false',
    'auth_mechanisms.1 = PLAIN',
    'auth_mechanisms.2 = EXTERNAL',
    'ssl_cert_login_from = common_name',
  ],
})
t.teardown(() => node.dispose())
await node.rabbitmqctl('add_user', certs.clientName, randomBytes(16).toString('hex'))
await node.rabbitmqctl('set_permissions', '-p', '/', certs.clientName, '.*', '.*', '.*')

const tlsUrl = `amqps://guest:guest@localhost:${tlsPort}`

/** user and auth_mechanism of the node's connections named `name:<role>`. */
async function loginsOf(name: string): Promise<Array<{ user: string; auth_mechanism: string }>> {
  const rows = JSON.parse(
    await node.rabbitmqctl(
      '-q',
      'list_connections',
      'user',
      'auth_mechanism',
      'client_properties',
      '--formatter',
      'json'
    )
  ) as Array<{ user: string; auth_mechanism: string; client_properties: unknown[][] }>
  return rows
    .filter((row) => row.client_properties.some((p) => p[0] === 'connection_name' && String(p[2]).startsWith(name)))
    .map(({ user, auth_mechanism }) => ({ user, auth_mechanism }))
}

t.test('amqps with the CA that signed the broker certificate: both connections up, channels work', async (t) => {
  const name = uniqueName('tls')
  const app = await buildApp(t, {
    url: tlsUrl,
    connectionName: name,
    tls: { ca: certs.ca },
    clientProperties: { product: 'orders-api' },
  })
  t.equal(app.amqp.status, 'connected')
  const channel = await app.amqp.channel().waitForOpen()
  const { queue } = await channel.assertQueue('', { exclusive: true })
  t.match(queue, /^amq\.gen-/)
  t.same(await loginsOf(name), [
    { user: 'guest', auth_mechanism: 'PLAIN' },
    { user: 'guest', auth_mechanism: 'PLAIN' },
  ])
})

t.test('SASL EXTERNAL: the login is the client certificate, no password sent', async (t) => {
  const name = uniqueName('external')
  const app = await buildApp(t, {
    url: `amqps://localhost:${tlsPort}`,
    connectionName: name,
    tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    sasl: 'external',
  })
  t.equal(app.amqp.status, 'connected')
  const logins = await loginsOf(name)
  t.equal(logins.length, 2)
  for (const login of logins) t.same(login, { user: certs.clientName, auth_mechanism: 'EXTERNAL' })
  t.notMatch(JSON.stringify(app.amqp.health()), /PRIVATE KEY|BEGIN CERTIFICATE/, 'no key or certificate in health()')
})

t.test('a CA that did not sign the broker certificate: register fails at once with a coded TLS error', async (t) => {
  const { capture, logger } = captureLogs()
  const started = Date.now()
  await t.rejects(
    buildApp(t, { url: tlsUrl, tls: { ca: wrongCa }, connectTimeout: 20_000 }, { logger, pluginTimeout: 30_000 }),
    { code: 'FST_AMQP_CONNECTION_TLS', message: /self[- ]signed|unable to verify|certificate/i }
  )
  t.ok(Date.now() - started < 10_000, 'no retries until connectTimeout')
  t.match(capture.text(), /not retrying/)
})

t.test('TLS and SASL options are checked when registering', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ url: 'amqp://127.0.0.1:5672', tls: { ca: certs.ca } }, /"tls": applies to amqps:\/\/ URLs/],
    [{ url: tlsUrl, tls: { cafile: 'x' } }, /"tls\.cafile": unknown/],
    [{ url: tlsUrl, tls: { ca: certs.ca }, sasl: 'external' }, /"sasl": 'external' takes the login/],
    [{ url: tlsUrl, sasl: 'kerberos' }, /"sasl": expected 'plain' or 'external'/],
  ]
  for (const [options, message] of cases) {
    await t.rejects(buildApp(t, options), { code: 'FST_AMQP_CONNECTION_INVALID_OPTION', message })
  }
})

t.test('updateSecret: the live connections take the new password, and every reconnect uses it', async (t) => {
  const user = uniqueName('rotating')
  const first = randomBytes(12).toString('hex')
  const second = randomBytes(12).toString('hex')
  await node.rabbitmqctl('add_user', user, first)
  await node.rabbitmqctl('set_permissions', '-p', '/', user, '.*', '.*', '.*')
  t.teardown(() => node.rabbitmqctl('delete_user', user))
  const proxy = await startFaultProxy({ port: node.port })
  t.teardown(() => proxy.close())
  const { capture, logger } = captureLogs()
  const app = await buildApp(t, { url: `amqp://${user}:${first}@127.0.0.1:${proxy.port}` }, { logger })

  await node.rabbitmqctl('change_password', user, second)
  await app.amqp.updateSecret(second, 'rotated by the test')
  t.equal(app.amqp.status, 'connected', 'the connections stay up')

  // A reconnect with the old password would be refused (ACCESS_REFUSED): it must use the new one.
  const before = app.amqp.health().reconnects
  proxy.cut()
  await until(() => app.amqp.health().reconnects >= before + 2, 20_000, 'both connections back')
  await until(() => app.amqp.status === 'connected', 20_000, 'connected with the new password')
  const channel = await app.amqp.channel().waitForOpen()
  t.ok(await channel.checkExchange('amq.direct'), 'a channel works after the reconnect')

  const seen = `${capture.text()}${JSON.stringify(app.amqp.health())}`
  t.notOk(seen.includes(first), 'the old password is in no log line and not in health()')
  t.notOk(seen.includes(second), 'nor the new one')
  await t.rejects(app.amqp.updateSecret(''), { code: 'FST_AMQP_CONNECTION_INVALID_OPTION' })
})
