// Reconnect, end to end: time from a connection cut (fault proxy) to consuming again, default options.
// After each cut a marker message goes into the queue straight to the broker; the sample ends when the
// contender's handler receives it, i.e. when it has a new connection, channel and subscription.
import amqp from '@fastify-amqp/connection'
import consumer from '@fastify-amqp/consumer'
import { startFaultProxy } from '@fastify-amqp/test-broker'
import amqpcm from 'amqp-connection-manager'
import Fastify from 'fastify'
import { Connection } from 'rabbitmq-client'
import { append, log, rotate, sleep, summarize, within } from './lib/rounds.js'

// Longer than any contender's "stable connection" window (ours: reconnect.stableAfter 2 s), so each cut is a fresh outage.
const QUIET_MS = 2_500

const contenders = {
  async ours(url, queue, onMarker) {
    const app = Fastify({ logger: false })
    await app.register(amqp, { url, connectionName: 'bench-reconnect-ours' })
    await app.register(consumer)
    app.consume({ queue, retry: false, deadLetter: false, handler: async (message) => onMarker(message.body.marker) })
    await app.ready()
    return () => app.close()
  },
  async 'amqp-connection-manager'(url, queue, onMarker) {
    const manager = amqpcm.connect([url])
    const wrapper = manager.createChannel({
      json: false,
      setup: async (ch) => {
        await ch.prefetch(50)
        await ch.consume(queue, (msg) => {
          ch.ack(msg)
          onMarker(JSON.parse(msg.content.toString()).marker)
        })
      },
    })
    await wrapper.waitForConnect()
    return async () => {
      await wrapper.close()
      await manager.close()
    }
  },
  async 'rabbitmq-client'(url, queue, onMarker) {
    const rabbit = new Connection({ url })
    rabbit.on('error', () => {})
    const sub = rabbit.createConsumer(
      { queue, queueOptions: { durable: true }, qos: { prefetchCount: 50 } },
      async (msg) => onMarker(msg.body.marker)
    )
    sub.on('error', () => {})
    return async () => {
      await sub.close()
      await rabbit.close()
    }
  },
}

async function open(name, url, admin) {
  const proxy = await startFaultProxy({ port: Number(new URL(url).port || 5672) })
  const queue = await admin.queue('reconnect')
  const waiting = new Map()
  const close = await contenders[name](proxy.url(url), queue, (marker) => {
    waiting.get(marker)?.()
    waiting.delete(marker)
  })
  let next = 0
  /** Sends a marker straight to the broker; resolves when the contender's handler got it. */
  const roundTrip = () => {
    const marker = `${name}-${next++}`
    const received = new Promise((resolve) => waiting.set(marker, resolve))
    admin.send(queue, { marker })
    return within(received, 60_000, `reconnect ${name}`)
  }
  await roundTrip() // consuming before the first cut
  return {
    async cut() {
      const started = performance.now()
      proxy.cut()
      await roundTrip()
      return performance.now() - started
    },
    async close() {
      await close()
      await proxy.close()
      await admin.deleteQueue(queue)
    },
  }
}

export async function reconnectConsumeBench({ url, admin, profile }) {
  const names = Object.keys(contenders)
  const opened = {}
  const samples = {}
  try {
    for (const name of names) opened[name] = await open(name, url, admin)
    for (let cut = 0; cut < profile.reconnectCuts; cut++) {
      for (const name of rotate(names, cut)) {
        await sleep(QUIET_MS)
        const ms = await opened[name].cut()
        append(samples, name, ms)
        log(`reconnect cut ${cut + 1}/${profile.reconnectCuts} ${name}: ${ms.toFixed(0)} ms to consuming again`)
      }
    }
  } finally {
    for (const name of Object.keys(opened)) await opened[name].close()
  }
  const results = { cuts: profile.reconnectCuts, contenders: {} }
  for (const name of names) results.contenders[name] = summarize(samples[name])
  return results
}
