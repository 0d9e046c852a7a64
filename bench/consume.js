// Consume with ack: N queued 1 KB JSON messages (filled with a raw confirm channel, untimed), each
// contender consumes all of them with a no-op handler at a given prefetch. Timed from the call that
// starts consuming (connection already open) to the N-th handler call; after the contender closed,
// the queue must be empty, i.e. every message was acked before close.
import amqp from '@fastify-amqp/connection'
import consumer from '@fastify-amqp/consumer'
import amqpcm from 'amqp-connection-manager'
import { connect } from 'amqplib'
import Fastify from 'fastify'
import { Connection } from 'rabbitmq-client'
import { queueArguments } from './lib/broker.js'
import { runIsolated } from './lib/isolated.js'
import { registerSdk } from './lib/otel-sdk.js'
import { append, child, log, rotate, sleep, summarize, within } from './lib/rounds.js'
import { startMeter } from './lib/work.js'

// fastify-amqp and rabbitmq-client hand the handler a parsed JSON body; with amqplib and
// amqp-connection-manager the consumer of a JSON message parses it itself.
function decode(msg) {
  return JSON.parse(msg.content.toString())
}

function counter(n) {
  let count = 0
  let resolve
  const done = new Promise((r) => {
    resolve = r
  })
  return {
    done,
    hit() {
      if (++count === n) resolve(performance.now())
    },
  }
}

export const consumeContenders = {
  async ours(url, queue, n, prefetch, queueType) {
    const app = Fastify({ logger: false })
    await app.register(amqp, { url, connectionName: 'bench-ours' })
    await app.register(consumer, { prefetch })
    const seen = counter(n)
    app.consume({
      queue,
      queueOptions: { type: queueType },
      prefetch,
      retry: false,
      deadLetter: false,
      handler: async () => seen.hit(),
    })
    return {
      async consume() {
        const started = performance.now()
        await app.ready() // consumers start in onReady
        return (await seen.done) - started
      },
      close: () => app.close(),
    }
  },

  // The same with an OpenTelemetry SDK registered: a CONSUMER span per delivery, the handler inside it, the metrics.
  async 'ours-otel'(url, queue, n, prefetch, queueType) {
    const unregister = registerSdk()
    const contender = await consumeContenders.ours(url, queue, n, prefetch, queueType)
    return { ...contender, close: () => contender.close().finally(unregister) }
  },

  async amqplib(url, queue, n, prefetch) {
    const model = await connect(url, { clientProperties: { connection_name: 'bench-amqplib' } })
    const seen = counter(n)
    let ch
    return {
      async consume() {
        const started = performance.now()
        ch = await model.createChannel()
        await ch.prefetch(prefetch)
        await ch.consume(queue, (msg) => {
          decode(msg)
          seen.hit()
          ch.ack(msg)
        })
        return (await seen.done) - started
      },
      async close() {
        // Channel first: its close goes out after its acks; a connection close could overtake them.
        await ch?.close()
        await model.close()
      },
    }
  },

  async 'amqp-connection-manager'(url, queue, n, prefetch) {
    const manager = amqpcm.connect([url], { connectionOptions: { clientProperties: { connection_name: 'bench-acm' } } })
    await manager.connect()
    const seen = counter(n)
    let wrapper
    return {
      async consume() {
        const started = performance.now()
        wrapper = manager.createChannel({
          json: false,
          setup: async (ch) => {
            await ch.prefetch(prefetch)
            await ch.consume(queue, (msg) => {
              decode(msg)
              seen.hit()
              ch.ack(msg)
            })
          },
        })
        return (await seen.done) - started
      },
      async close() {
        await wrapper?.close()
        await manager.close()
      },
    }
  },

  async 'rabbitmq-client'(url, queue, n, prefetch, queueType) {
    const rabbit = new Connection({ url, connectionName: 'bench-rabbitmq-client' })
    await rabbit.onConnect(10_000)
    const seen = counter(n)
    let sub
    return {
      async consume() {
        const started = performance.now()
        // It declares the queue like ours does: same arguments as the existing durable queue.
        sub = rabbit.createConsumer(
          {
            queue,
            queueOptions: { durable: true, arguments: queueArguments(queueType) },
            qos: { prefetchCount: prefetch },
          },
          async () => {
            seen.hit()
          }
        )
        sub.on('error', (err) => log(`rabbitmq-client consumer error: ${err.message}`))
        return (await seen.done) - started
      },
      async close() {
        await sub?.close()
        await rabbit.close()
      },
    }
  },
}

/**
 * The queue's message count once it has settled. A quorum queue applies the acks of a closed channel through
 * its Raft log after the close, so its count can lag by the last few dozen acks: read it until it stops
 * falling (a few reads, 50 ms apart, at most 2 s), so only what was really left unacked is reported.
 */
async function settledCount(admin, queue, queueType) {
  let count = await admin.count(queue)
  for (let i = 0; queueType === 'quorum' && count > 0 && i < 40; i++) {
    await sleep(50)
    const now = await admin.count(queue)
    if (now === count && i >= 4) break
    count = now
  }
  return count
}

/** Fills the queue, consumes it (in a fresh process unless --in-process), then checks it is empty. */
export async function consumeOnce(
  name,
  { url, admin, queue, n, prefetch, isolated, countWork = false, queueType = 'classic' }
) {
  await admin.fill(queue, n)
  const spec = { url, queue, n, prefetch, countWork, queueType }
  const { ms, work } = isolated
    ? await runIsolated({ workload: 'consume', name, ...spec })
    : await timedConsumeRun(name, spec)
  // Acked before close means gone; anything left was unacked when the contender closed (redelivered later).
  const left = await settledCount(admin, queue, queueType)
  if (left !== 0) {
    log(`consume ${name} prefetch ${prefetch}: WARNING ${left} messages left in the queue after close`)
    await admin.purge(queue)
  }
  return { ms, left, work }
}

/**
 * One timed run in this process: connect, time the workload, close (run-one.js calls it in a fresh one).
 * countWork: also count the broker's and this process's work per message (lib/work.js).
 */
export async function timedConsumeRun(name, { url, queue, n, prefetch, countWork = false, queueType = 'classic' }) {
  const contender = await consumeContenders[name](url, queue, n, prefetch, queueType)
  try {
    const meter = countWork ? await startMeter(url) : undefined
    const ms = await within(contender.consume(), 300_000, name)
    return { ms, work: await meter?.stop(n) }
  } finally {
    await contender.close()
  }
}

/** queueType 'quorum' with prefetches [100]: the quorum workload's consume half. */
export async function consumeBench({ url, admin, profile, queueType = 'classic', prefetches = profile.prefetches }) {
  const names = Object.keys(consumeContenders)
  const queue = await admin.queue(`consume-${queueType}`, queueType)
  const n = profile.consumeMessages
  const isolated = profile.isolated
  const results = { messages: n, queueType, byPrefetch: {} }
  try {
    log(`consume ${queueType}: warm-up (${profile.warmupMessages} messages each, untimed)`)
    for (const name of names)
      await consumeOnce(name, { url, admin, queue, n: profile.warmupMessages, prefetch: 100, isolated, queueType })
    for (let round = 0; round < profile.rounds; round++) {
      for (const prefetch of prefetches) {
        for (const name of rotate(names, round)) {
          const { ms, left } = await consumeOnce(name, { url, admin, queue, n, prefetch, isolated, queueType })
          if (left > 0) append(child(results, 'leftAfterClose'), name, left)
          const rate = (n / ms) * 1000
          append(child(results.byPrefetch, prefetch), name, rate)
          log(
            `consume ${queueType} prefetch ${prefetch} round ${round + 1}/${profile.rounds} ${name}: ${rate.toFixed(0)} msg/s`
          )
        }
      }
    }
  } finally {
    await admin.deleteQueue(queue)
  }
  for (const prefetch of Object.keys(results.byPrefetch)) {
    for (const name of names) results.byPrefetch[prefetch][name] = summarize(results.byPrefetch[prefetch][name])
  }
  return results
}
