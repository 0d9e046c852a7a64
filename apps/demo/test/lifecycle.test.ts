import { join } from 'node:path'
import { freePort } from '@fastify-amqp/test-broker'
import t, { type Test } from 'tap'
import { HttpClient } from '../src/load/http.js'
import { SHARED_URL, spawnDemo, tempDir, testConfig, until } from './fixtures/helpers.js'

t.test('with no broker answering, the demo says how to start one and exits non-zero', async (t) => {
  const deadPort = await freePort()
  const demo = spawnDemo(t, {
    PORT: String(await freePort()),
    AMQP_URL: `amqp://guest:s3cret@127.0.0.1:${deadPort}`,
    CONNECT_TIMEOUT: '1000',
    DATABASE_PATH: join(tempDir(t), 'orders.db'),
  })
  const { code } = await demo.exited
  t.equal(code, 1)
  const output = demo.output()
  t.match(output, `No RabbitMQ answered at amqp://guest:***@127.0.0.1:${deadPort} within 1000 ms`)
  t.match(output, 'rabbitmq-server -detached')
  t.match(output, 'scripts/ensure-rabbitmq.sh')
  t.notMatch(output, 's3cret', 'the password is never printed')
})

t.test('an invalid setting stops the demo with the variable named (exit 2)', async (t) => {
  const demo = spawnDemo(t, { PORT: 'eighty' })
  t.equal((await demo.exited).code, 2)
  t.match(demo.output(), 'invalid configuration: PORT must be an integer')
})

/** Starts the demo with a handler that takes 30 s, posts one order and waits until it is being handled. */
async function busyDemo(t: Test, env: Record<string, string>) {
  const config = testConfig(t, 'signals')
  const port = await freePort()
  const demo = spawnDemo(t, {
    PORT: String(port),
    AMQP_URL: SHARED_URL,
    AMQP_PREFIX: config.amqpPrefix,
    DATABASE_PATH: config.databasePath,
    WORK_DELAY_MS: '30000',
    DRAIN_TIMEOUT: '60000',
    ...env,
  })
  const client = new HttpClient(`http://127.0.0.1:${port}`, 2)
  t.teardown(() => client.close())
  const stats = async () =>
    (await client.send('GET', '/stats').catch(() => null))?.body as { consumers: { inFlight: number }[] } | undefined
  await until(async () => (await stats()) !== undefined, 30_000, 'the demo to listen')
  const posted = await client.send('POST', '/orders', { customer: 'ada', items: [{ sku: 'A', quantity: 1 }] })
  t.equal(posted.status, 202)
  await until(async () => (await stats())?.consumers[0]?.inFlight === 1, 10_000, 'the handler to be running')
  return demo
}

t.test('a second signal during the drain forces exit code 1', async (t) => {
  const demo = await busyDemo(t, {})
  demo.child.kill('SIGTERM')
  await demo.waitForOutput('cancelling consumers and draining running handlers')
  demo.child.kill('SIGINT')
  t.same(await demo.exited, { code: 1, signal: null })
  t.match(demo.output(), 'shutdown: second signal, exiting now (code 1)')
  t.notMatch(demo.output(), 'shutdown: complete')
})

t.test('a shutdown past SHUTDOWN_TIMEOUT forces exit code 1', async (t) => {
  const demo = await busyDemo(t, { SHUTDOWN_TIMEOUT: '1000' })
  const sent = Date.now()
  demo.child.kill('SIGTERM')
  t.same(await demo.exited, { code: 1, signal: null })
  t.ok(Date.now() - sent < 20_000, 'it did not wait for the 30 s handler')
  t.match(demo.output(), 'shutdown: not done in time, exiting now (code 1)')
})
