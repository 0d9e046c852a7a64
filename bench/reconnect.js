// Time from a connection cut (fault proxy) to 'connected' again, default options.
import amqp from '@fastify-amqp/connection'
import { startFaultProxy, SHARED_URL as URL } from '@fastify-amqp/test-broker'
import Fastify from 'fastify'
import { median, percentile } from './stats.js'

export async function reconnectBench({ cuts = 10 } = {}) {
  const proxy = await startFaultProxy({ port: Number(new globalThis.URL(URL).port || 5672) })
  const app = Fastify()
  await app.register(amqp, { url: proxy.url(URL) })
  await app.ready()
  const managed = app.amqp.channel({ setup: async (ch) => void (await ch.prefetch(10)) })
  await managed.waitForOpen()
  const samples = []
  try {
    for (let i = 0; i < cuts; i++) {
      // Past reconnect.stableAfter (2 s), so each cut is a fresh outage, as in production.
      await new Promise((resolve) => setTimeout(resolve, 2_200))
      const started = performance.now()
      const reopened = new Promise((resolve) => managed.once('open', resolve))
      proxy.cut()
      await reopened
      samples.push(performance.now() - started)
    }
  } finally {
    await app.close()
    await proxy.close()
  }
  return { samples, median: median(samples), p90: percentile(samples, 90) }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await reconnectBench()
  console.log(
    `reconnect (cut -> channel open again), ${result.samples.length} cuts: median ${result.median.toFixed(0)} ms, p90 ${result.p90.toFixed(0)} ms`
  )
}
