// Publish with confirms, 1 KB persistent JSON to a durable classic queue via the default exchange:
// (a) pipelined: issue all (respecting backpressure where the API exposes it), then await every confirm;
// (b) awaiters: `concurrency` loops, each awaiting its own confirm before publishing again.
import { randomFillSync } from 'node:crypto'
import { once } from 'node:events'
import amqp from '@fastify-amqp/connection'
import publisher from '@fastify-amqp/publisher'
import amqpcm from 'amqp-connection-manager'
import { connect } from 'amqplib'
import Fastify from 'fastify'
import { Connection } from 'rabbitmq-client'
import { BODY, RAW_PROPERTIES } from './lib/payload.js'
import { append, log, rotate, summarize, within } from './lib/rounds.js'

/** Runs `publishOne` n times from `concurrency` loops, each awaiting its own confirm. */
async function awaiters(n, concurrency, publishOne) {
  let issued = 0
  const loop = async () => {
    while (issued < n) {
      issued++
      await publishOne()
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
}

export const publishContenders = {
  async ours(url, queue, n) {
    const app = Fastify({ logger: false })
    await app.register(amqp, { url, connectionName: 'bench-ours' })
    // Pipelining n at once is a bulk load: the buffer must hold them (default 10 000), and the last one
    // waits for all before it (confirmTimeout, default 10 s, counts from publish(), queueing included).
    await app.register(publisher, { buffer: { maxMessages: Math.max(n, 10_000) }, confirmTimeout: 300_000 })
    await app.ready()
    const pub = app.publisher
    // Its confirm channel opens after ready: one confirmed message first, so the clock does not time that.
    await pub.publish('', queue, BODY)
    return {
      preloaded: 1,
      async pipelined() {
        const all = new Array(n)
        for (let i = 0; i < n; i++) all[i] = pub.publish('', queue, BODY)
        await Promise.all(all)
      },
      awaiters: (concurrency) => awaiters(n, concurrency, () => pub.publish('', queue, BODY)),
      close: () => app.close(),
    }
  },

  amqplib: (url, queue, n) => rawAmqplib(url, queue, n, () => RAW_PROPERTIES),

  // Raw amqplib sending what fastify-amqp sends on every message: tells the library's cost from the
  // broker's cost of the properties (mandatory, a 22-character messageId, a timestamp).
  'amqplib-same-properties': (url, queue, n) => {
    const ids = Buffer.allocUnsafe(16)
    return rawAmqplib(url, queue, n, () => ({
      ...RAW_PROPERTIES,
      mandatory: true,
      messageId: randomFillSync(ids).toString('base64url'),
      timestamp: Math.floor(Date.now() / 1000),
    }))
  },

  async 'amqp-connection-manager'(url, queue, n) {
    const manager = amqpcm.connect([url], { connectionOptions: { clientProperties: { connection_name: 'bench-acm' } } })
    const wrapper = manager.createChannel({ json: false, confirm: true })
    await wrapper.waitForConnect()
    const publishOne = () => wrapper.sendToQueue(queue, Buffer.from(JSON.stringify(BODY)), RAW_PROPERTIES)
    return {
      async pipelined() {
        const all = new Array(n)
        for (let i = 0; i < n; i++) all[i] = publishOne()
        await Promise.all(all)
      },
      awaiters: (concurrency) => awaiters(n, concurrency, publishOne),
      async close() {
        await wrapper.close()
        await manager.close()
      },
    }
  },

  async 'rabbitmq-client'(url, queue, n) {
    const rabbit = new Connection({ url, connectionName: 'bench-rabbitmq-client' })
    await rabbit.onConnect(10_000)
    const pub = rabbit.createPublisher({ confirm: true })
    // The body object is JSON-encoded by the library (contentType application/json).
    const envelope = { routingKey: queue, durable: true }
    const publishOne = () => pub.send(envelope, BODY)
    // Its channel is created on the first send: one confirmed message first, so the clock does not time that.
    await publishOne()
    return {
      preloaded: 1,
      async pipelined() {
        const all = new Array(n)
        for (let i = 0; i < n; i++) all[i] = publishOne()
        await Promise.all(all)
      },
      awaiters: (concurrency) => awaiters(n, concurrency, publishOne),
      async close() {
        await pub.close()
        await rabbit.close()
      },
    }
  },
}

async function rawAmqplib(url, queue, n, properties) {
  const model = await connect(url, { clientProperties: { connection_name: 'bench-amqplib' } })
  const ch = await model.createConfirmChannel()
  return {
    async pipelined() {
      for (let i = 0; i < n; i++) {
        if (!ch.sendToQueue(queue, Buffer.from(JSON.stringify(BODY)), properties())) await once(ch, 'drain')
      }
      await ch.waitForConfirms()
    },
    awaiters: (concurrency) =>
      awaiters(
        n,
        concurrency,
        () =>
          new Promise((resolve, reject) => {
            ch.sendToQueue(queue, Buffer.from(JSON.stringify(BODY)), properties(), (err) =>
              err ? reject(err) : resolve()
            )
          })
      ),
    close: () => model.close(),
  }
}

async function runOnce(name, mode, { url, admin, queue, n, concurrency }) {
  const contender = await publishContenders[name](url, queue, n)
  let ms
  try {
    const started = performance.now()
    await within(mode === 'pipelined' ? contender.pipelined() : contender.awaiters(concurrency), 300_000, name)
    ms = performance.now() - started
  } finally {
    await contender.close()
  }
  const stored = await admin.count(queue)
  await admin.purge(queue)
  const expected = n + (contender.preloaded ?? 0)
  if (stored !== expected) throw new Error(`${name} ${mode}: ${stored} messages in the queue, expected ${expected}`)
  return ms
}

export async function publishBench({ url, admin, profile }) {
  const names = Object.keys(publishContenders)
  const queue = await admin.queue('publish')
  const n = profile.publishMessages
  const concurrency = profile.awaiters
  const results = { messages: n, concurrency, pipelined: {}, awaiters: {} }
  try {
    log(`publish: warm-up (${profile.warmupMessages} messages each, untimed)`)
    for (const name of names) {
      await runOnce(name, 'pipelined', { url, admin, queue, n: profile.warmupMessages, concurrency })
    }
    for (let round = 0; round < profile.rounds; round++) {
      for (const mode of ['pipelined', 'awaiters']) {
        for (const name of rotate(names, round)) {
          const ms = await runOnce(name, mode, { url, admin, queue, n, concurrency })
          const rate = (n / ms) * 1000
          append(results[mode], name, rate)
          log(`publish ${mode} round ${round + 1}/${profile.rounds} ${name}: ${rate.toFixed(0)} msg/s`)
        }
      }
    }
  } finally {
    await admin.deleteQueue(queue)
  }
  for (const mode of ['pipelined', 'awaiters']) {
    for (const name of names) results[mode][name] = summarize(results[mode][name])
  }
  return results
}
