import { startFaultProxy } from '@fastify-amqp/test-broker'
import { runPipeline } from '../pipeline.js'
import { SHARED_URL, sleep } from '../util.js'

/** The app's sockets cut by the fault proxy every few hundred ms (both connections), for `duration`. */
export async function cuts(profile) {
  const p = profile.cuts
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  return runPipeline({
    name: 'cuts',
    title: `Connection cuts every ${p.gap[0]}-${p.gap[1]} ms for ${p.duration / 1000} s`,
    brokerUrl: SHARED_URL,
    appUrl: proxy.url(SHARED_URL),
    rate: p.rate,
    recoverBound: p.recoverBound,
    async fault(run) {
      const end = Date.now() + p.duration
      let cuts = 0
      let windowsWithConfirms = 0
      let lastConfirmed = run.tally.confirmed.size
      while (Date.now() < end) {
        // The fault schedule: a random gap, then every socket the app has through the proxy dies.
        await sleep(p.gap[0] + Math.random() * (p.gap[1] - p.gap[0]))
        if (run.tally.confirmed.size > lastConfirmed) windowsWithConfirms += 1
        lastConfirmed = run.tally.confirmed.size
        proxy.cut()
        cuts += 1
      }
      run.cleared()
      return { cuts, windowsWithConfirms, reconnects: run.app.amqp.health().reconnects }
    },
    cleanup: () => proxy.close(),
  })
}

/**
 * All bytes dropped both ways, sockets left open: only heartbeats can tell. Measures the time to
 * notice (both connections 'disconnected'), holds the black hole for `hold`, then restores.
 */
export async function blackhole(profile) {
  const p = profile.blackhole
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  return runPipeline({
    name: 'blackhole',
    title: `Black-holed traffic for ${p.hold / 1000} s (heartbeat ${p.heartbeat} s)`,
    brokerUrl: SHARED_URL,
    appUrl: proxy.url(SHARED_URL),
    rate: p.rate,
    recoverBound: p.recoverBound,
    app: { heartbeat: p.heartbeat, connectTimeout: 3_000 },
    async fault(run) {
      const detected = new Map()
      const allDetected = new Promise((resolve) => {
        run.app.amqp.on('disconnected', (info) => {
          if (!detected.has(info.role)) detected.set(info.role, Date.now())
          if (detected.size === 2) resolve()
        })
      })
      const start = Date.now()
      proxy.blackhole()
      let timer
      await Promise.race([allDetected, new Promise((resolve) => (timer = setTimeout(resolve, p.hold)))])
      clearTimeout(timer)
      const detectMs = detected.size === 2 ? Math.max(...detected.values()) - start : null
      // Keep the network dead for the rest of `hold`: reconnect attempts meet the black hole too.
      const left = start + p.hold - Date.now()
      if (left > 0) await sleep(left)
      proxy.restore()
      run.cleared()
      return { detectMs, detectBound: p.detectBound, heartbeat: p.heartbeat }
    },
    cleanup: () => proxy.close(),
  })
}
