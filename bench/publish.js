// Publish with confirms, 1 KB persistent JSON to a durable classic (or quorum) queue via the default exchange:
// (a) pipelined: issue all (respecting backpressure where the API exposes it), then await every confirm;
// (b) awaiters: `concurrency` loops, each awaiting its own confirm before publishing again.
import { once } from 'node:events'
import amqp from '@fastify-amqp/connection'
import publisher from '@fastify-amqp/publisher'
import amqpcm from 'amqp-connection-manager'
import { connect } from 'amqplib'
import Fastify from 'fastify'
import { Connection } from 'rabbitmq-client'
import { runIsolated } from './lib/isolated.js'
import { registerSdk } from './lib/otel-sdk.js'
import { BODY, ourPropertiesFactory, RAW_PROPERTIES } from './lib/payload.js'
import { append, log, rotate, summarize, within } from './lib/rounds.js'
import { startMeter } from './lib/work.js'

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

/** A contender whose publish returns a promise: pipelined = all n at once, then Promise.all. */
function promiseContender(n, publishOne, close, preloaded = 0) {
  return {
    preloaded,
    async pipelined() {
      const all = new Array(n)
      for (let i = 0; i < n; i++) all[i] = publishOne()
      await Promise.all(all)
    },
    awaiters: (concurrency) => awaiters(n, concurrency, publishOne),
    close,
  }
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
    return promiseContender(
      n,
      () => pub.publish('', queue, BODY),
      () => app.close(),
      1
    )
  },

  // The same with an OpenTelemetry SDK registered: a PRODUCER span and traceparent per message, and the metrics.
  async 'ours-otel'(url, queue, n) {
    const unregister = registerSdk()
    const contender = await publishContenders.ours(url, queue, n)
    return { ...contender, close: () => contender.close().finally(unregister) }
  },

  amqplib: (url, queue, n) => rawAmqplib(url, queue, n, () => RAW_PROPERTIES),

  // Raw amqplib that cannot silently drop a message: `mandatory`, so an unroutable publish comes back.
  'amqplib-mandatory': (url, queue, n) => {
    const properties = Object.freeze({ ...RAW_PROPERTIES, mandatory: true })
    return rawAmqplib(url, queue, n, () => properties)
  },

  // Raw amqplib sending what fastify-amqp sends on every message: tells the library's cost from the
  // broker's cost of the properties (mandatory, a 22-character messageId, a timestamp).
  'amqplib-same-properties': (url, queue, n) => rawAmqplib(url, queue, n, ourPropertiesFactory(RAW_PROPERTIES)),

  async 'amqp-connection-manager'(url, queue, n) {
    const manager = amqpcm.connect([url], { connectionOptions: { clientProperties: { connection_name: 'bench-acm' } } })
    const wrapper = manager.createChannel({ json: false, confirm: true })
    await wrapper.waitForConnect()
    const publishOne = () => wrapper.sendToQueue(queue, Buffer.from(JSON.stringify(BODY)), RAW_PROPERTIES)
    return promiseContender(n, publishOne, async () => {
      await wrapper.close()
      await manager.close()
    })
  },

  'rabbitmq-client': (url, queue, n) => rabbitmqClient(url, queue, n, false),

  // rabbitmq-client sending our properties: the like-for-like comparison with fastify-amqp.
  'rabbitmq-client-same-properties': (url, queue, n) => rabbitmqClient(url, queue, n, true),
}

async function rabbitmqClient(url, queue, n, ourProperties) {
  const rabbit = new Connection({ url, connectionName: 'bench-rabbitmq-client' })
  await rabbit.onConnect(10_000)
  const pub = rabbit.createPublisher({ confirm: true })
  // The body object is JSON-encoded by the library (contentType application/json).
  const envelope = { routingKey: queue, durable: true }
  const envelopeFor = ourProperties ? ourPropertiesFactory(envelope) : () => envelope
  const publishOne = () => pub.send(envelopeFor(), BODY)
  // Its channel is created on the first send: one confirmed message first, so the clock does not time that.
  await publishOne()
  const close = async () => {
    await pub.close()
    await rabbit.close()
  }
  return promiseContender(n, publishOne, close, 1)
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

/** One run (in a fresh process unless --in-process), then the queue must hold exactly what was sent. */
export async function publishOnce(name, mode, { url, admin, queue, n, concurrency, isolated, countWork = false }) {
  const spec = { url, queue, n, concurrency, countWork }
  const result = isolated
    ? await runIsolated({ workload: 'publish', name, mode, ...spec })
    : await timedPublishRun(name, mode, spec)
  const stored = await admin.count(queue)
  await admin.purge(queue)
  const expected = n + result.preloaded
  if (stored !== expected) throw new Error(`${name} ${mode}: ${stored} messages in the queue, expected ${expected}`)
  return result
}

/**
 * One timed run in this process: connect, time the workload, close (run-one.js calls it in a fresh one).
 * countWork: also count the broker's and this process's work per message (lib/work.js), outside the clock.
 */
export async function timedPublishRun(name, mode, { url, queue, n, concurrency, countWork = false }) {
  const contender = await publishContenders[name](url, queue, n)
  try {
    const meter = countWork ? await startMeter(url) : undefined
    const started = performance.now()
    await within(mode === 'pipelined' ? contender.pipelined() : contender.awaiters(concurrency), 300_000, name)
    const ms = performance.now() - started
    return { ms, preloaded: contender.preloaded ?? 0, work: await meter?.stop(n) }
  } finally {
    await contender.close()
  }
}

/** queueType: 'classic' (the publish workload) or 'quorum' (the quorum workload): the same runs on that queue type. */
export async function publishBench({ url, admin, profile, queueType = 'classic' }) {
  const names = Object.keys(publishContenders)
  const queue = await admin.queue(`publish-${queueType}`, queueType)
  const n = profile.publishMessages
  const concurrency = profile.awaiters
  const isolated = profile.isolated
  const results = { messages: n, concurrency, queueType, pipelined: {}, awaiters: {} }
  try {
    log(`publish ${queueType}: warm-up (${profile.warmupMessages} messages each, untimed)`)
    for (const name of names) {
      await publishOnce(name, 'pipelined', { url, admin, queue, n: profile.warmupMessages, concurrency, isolated })
    }
    for (let round = 0; round < profile.rounds; round++) {
      for (const mode of ['pipelined', 'awaiters']) {
        for (const name of rotate(names, round)) {
          const { ms } = await publishOnce(name, mode, { url, admin, queue, n, concurrency, isolated })
          const rate = (n / ms) * 1000
          append(results[mode], name, rate)
          log(`publish ${queueType} ${mode} round ${round + 1}/${profile.rounds} ${name}: ${rate.toFixed(0)} msg/s`)
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
