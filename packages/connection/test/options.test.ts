import Fastify from 'fastify'
import t from 'tap'
import { amqp } from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import { buildApp, SHARED_URL } from './fixtures/helpers.js'

t.test('defaults', async (t) => {
  const o = resolveOptions({})
  t.same(o.urls, ['amqp://guest:guest@127.0.0.1:5672'])
  t.equal(o.heartbeat, 10)
  t.equal(o.waitForConnection, true)
  t.equal(o.connectTimeout, 10_000)
  t.same(o.reconnect, {
    initialDelay: 100,
    maxDelay: 30_000,
    factor: 2,
    jitter: 'full',
    maxAttempts: Number.POSITIVE_INFINITY,
    stableAfter: 2_000,
  })
})

t.test('invalid options name the field and never echo a password', async (t) => {
  const cases: Array<[object, RegExp]> = [
    [{ url: 'http://u:s3cret@host' }, /"url": protocol must be amqp: or amqps:/],
    [{ url: 'not a url with s3cret' }, /"url": is not a valid URL/],
    [{ url: ['amqp://a', 42] }, /"url\[1\]"/],
    [{ url: [] }, /"url": expected at least one URL/],
    [{ heartbeat: -1 }, /"heartbeat": must be >= 0/],
    [{ heartbeat: 'ten' }, /"heartbeat": expected a finite number/],
    [{ connectTimeout: 0 }, /"connectTimeout": must be >= 1/],
    [{ reconnect: { initialDelay: 500, maxDelay: 100 } }, /"reconnect.maxDelay": must be >= reconnect.initialDelay/],
    [{ reconnect: { jitter: 'some' } }, /"reconnect.jitter"/],
    [{ reconnect: { factor: 0.5 } }, /"reconnect.factor": must be >= 1/],
    [{ waitForConnection: 'yes' }, /"waitForConnection"/],
    [{ connectionName: '' }, /"connectionName"/],
    [{ topology: { queues: {} } }, /"topology.queues": expected an array/],
    [{ frameMax: 4096 }, /"frameMax": must be >= 8192/],
    [{ url: 'amqp://u:s3cret@host/?frameMax=4096' }, /"url": frameMax=4096 in the query: must be at least 8192/],
    [{ url: ['amqp://a', 'amqp://u:s3cret@b?frameMax=x'] }, /"url\[1\]": frameMax=x/],
  ]
  for (const [options, pattern] of cases) {
    try {
      resolveOptions(options)
      t.fail(`accepted ${JSON.stringify(options)}`)
    } catch (err) {
      const e = err as Error & { code: string }
      t.equal(e.code, 'FST_AMQP_CONNECTION_INVALID_OPTION')
      t.match(e.message, pattern)
      t.notMatch(e.message, /s3cret/)
    }
  }
})

t.test('register fails with the coded error before any connection is tried', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(amqp, { heartbeat: -5 })
  await t.rejects(async () => app.ready(), { code: 'FST_AMQP_CONNECTION_INVALID_OPTION' })
})

t.test('registering twice on one instance is refused', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(amqp, { url: 'amqp://guest:guest@127.0.0.1:5672' })
  app.register(amqp, { url: 'amqp://guest:guest@127.0.0.1:5672' })
  await t.rejects(async () => app.ready(), { code: 'FST_AMQP_CONNECTION_ALREADY_REGISTERED' })
})

t.test('frameMax below 8192 in the URL fails register at once, before the broker refuses it at tune', async (t) => {
  const url = new URL(SHARED_URL)
  url.searchParams.set('frameMax', '4096')
  const started = Date.now()
  const err = await buildApp(t, { url: url.toString(), connectTimeout: 5_000 }).catch((e: Error) => e)
  t.match(err, { code: 'FST_AMQP_CONNECTION_INVALID_OPTION', message: /frameMax=4096/ })
  t.ok(Date.now() - started < 2_000, 'before any connection could time out')
})

t.test('the frameMax option is what both connections agree with the broker', async (t) => {
  const app = await buildApp(t, { frameMax: 16_384 })
  for (const role of ['publish', 'consume'] as const) {
    const model = app.amqp.connection(role).model as unknown as { connection: { frameMax: number } }
    t.equal(model.connection.frameMax, 16_384, role)
  }
})
