// Child process of memory.js (run with --expose-gc): publishes n messages while the broker is down
// (the URL points at a fault proxy refusing every connection), then reports resident memory.
import amqp from '@fastify-amqp/connection'
import publisher from '@fastify-amqp/publisher'
import amqpcm from 'amqp-connection-manager'
import Fastify from 'fastify'
import { Connection } from 'rabbitmq-client'
import { BODY, RAW_PROPERTIES } from './lib/payload.js'

const [name, url, queue, countArg] = process.argv.slice(2)
const n = Number(countArg)
const SETTLE_MS = 1_000

function ours(bufferMessages) {
  return async () => {
    const app = Fastify({ logger: false })
    await app.register(amqp, { url, connectionName: 'bench-memory-ours', waitForConnection: false })
    await app.register(publisher, bufferMessages ? { buffer: { maxMessages: bufferMessages } } : {})
    await app.ready()
    return (body) => app.publisher.publish('', queue, body)
  }
}

const contenders = {
  ours: ours(0),
  'ours (buffer 100k)': ours(100_000),
  async 'amqp-connection-manager'() {
    const manager = amqpcm.connect([url])
    manager.on('connectFailed', () => {})
    const wrapper = manager.createChannel({ json: false, confirm: true })
    return (body) => wrapper.sendToQueue(queue, Buffer.from(JSON.stringify(body)), RAW_PROPERTIES)
  },
  async 'rabbitmq-client'() {
    const rabbit = new Connection({ url })
    rabbit.on('error', () => {})
    const pub = rabbit.createPublisher({ confirm: true })
    return (body) => pub.send({ routingKey: queue, durable: true }, body)
  },
}

function sample() {
  globalThis.gc?.()
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage()
  return { rss, heapUsed, external, arrayBuffers }
}

const before = sample()
const publishOne = await contenders[name]()
const afterSetup = sample()
let rejected = 0
const reasons = {}
const started = performance.now()
for (let i = 0; i < n; i++) {
  publishOne(BODY).catch((err) => {
    rejected++
    const code = err?.code ?? err?.name ?? 'error'
    reasons[code] = (reasons[code] ?? 0) + 1
  })
}
const issueMs = performance.now() - started
await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
const after = sample()
process.send({ name, n, before, afterSetup, after, rejected, reasons, issueMs, settleMs: SETTLE_MS })
process.exit(0) // nothing to close cleanly: no broker was ever reached
