import { readFileSync } from 'node:fs'
import amqp from 'amqplib'
import t from 'tap'
import { brokerRuntime, RABBITMQ4, rootVersion, SHARED_URL, startBroker } from '../src/index.js'

const script = readFileSync(new URL('../../../scripts/ensure-rabbitmq4.sh', import.meta.url), 'utf8')

function scriptValue(name: string): string | undefined {
  return new RegExp(`^${name}=(\\S+)`, 'm').exec(script)?.[1]
}

t.test('the 4.x root, node and ports agree with scripts/ensure-rabbitmq4.sh', async (t) => {
  t.equal(scriptValue('ROOT'), RABBITMQ4.root)
  t.equal(scriptValue('NODE'), RABBITMQ4.nodeName)
  t.equal(scriptValue('PORT'), String(RABBITMQ4.port))
  t.equal(scriptValue('EPMD_PORT'), String(RABBITMQ4.epmdPort))
  t.equal(scriptValue('DATA'), RABBITMQ4.home)
})

t.test('FASTIFY_AMQP_BROKER picks the runtime: 4.x by default, 3.10 on request, nothing else', async (t) => {
  const four = brokerRuntime({})
  t.equal(four.name, '4')
  t.equal(four.root, RABBITMQ4.root)
  t.equal(four.sharedUrl, `amqp://guest:guest@127.0.0.1:${RABBITMQ4.port}`)
  const three = brokerRuntime({ FASTIFY_AMQP_BROKER: '3.10' })
  t.equal(three.name, '3.10')
  t.equal(three.root, undefined)
  t.equal(three.sharedUrl, 'amqp://guest:guest@127.0.0.1:5672')
  t.equal(brokerRuntime({ FASTIFY_AMQP_BROKER: '3.10', AMQP_URL: 'amqp://x@h:1' }).sharedUrl, 'amqp://x@h:1')
  t.throws(() => brokerRuntime({ FASTIFY_AMQP_BROKER: '5' }), /must be '4' or '3.10'/)
})

async function serverVersion(url: string): Promise<string> {
  const connection = await amqp.connect(url)
  try {
    return String(connection.connection.serverProperties.version)
  } finally {
    await connection.close()
  }
}

t.test('the shared broker and a disposable node run the version this run chose', async (t) => {
  const runtime = brokerRuntime()
  const major = runtime.name === '4' ? /^4\./ : /^3\.10\./
  t.match(await serverVersion(SHARED_URL), major, 'shared broker')
  if (runtime.name === '4') t.match(rootVersion(runtime), /^4\.\d+\.\d+ \(Debian (forky|trixie)\)$/)
  const node = await startBroker()
  t.teardown(() => node.dispose())
  t.equal(node.runtime.name, runtime.name)
  t.match(await serverVersion(node.url), major, 'disposable node')
  if (runtime.root !== undefined) t.ok(node.dataDir.startsWith(`${runtime.root}/tmp/`), 'its data lives in the root')
})
