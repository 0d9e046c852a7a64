import { randomUUID } from 'node:crypto'
import { Agent, request } from 'node:http'
import { sleep } from './util.js'

// A request waits at most this long; the app answers sooner (confirmTimeout), this only guards the driver.
const REQUEST_TIMEOUT = 120_000

function post(agent, port, body) {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body)
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/orders',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: REQUEST_TIMEOUT,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode))
        res.on('error', () => resolve('network'))
      }
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve('network'))
    req.end(payload)
  })
}

/**
 * Runs `job()` about `rate` times per second with at most `concurrency` at once, until stop(). The
 * pacing is load shaping only: no check depends on it.
 */
export function paced({ rate, concurrency, job }) {
  const interval = 1000 / rate
  let running = true
  let next = Date.now()
  let inFlight = 0

  async function worker() {
    while (running) {
      const now = Date.now()
      next = Math.max(next + interval, now - 1000) // no burst to catch up after a stall longer than 1 s
      const wait = next - now
      if (wait > 0) await sleep(wait)
      if (!running) break
      inFlight += 1
      await job()
      inFlight -= 1
    }
  }

  const workers = Array.from({ length: concurrency }, worker)
  return {
    get inFlight() {
      return inFlight
    },
    /** Stops starting jobs; resolves once every job started has finished. */
    async stop() {
      running = false
      await Promise.all(workers)
    },
  }
}

/**
 * HTTP POSTs to the app's /orders route at about `rate` per second with at most `concurrency` in
 * flight, each with a fresh order id; every answer goes into the tally (202 = confirmed).
 */
export function startTraffic({ port, tally, rate, concurrency = 64, padding = 0 }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const pad = padding > 0 ? 'x'.repeat(padding) : undefined
  const loop = paced({
    rate,
    concurrency,
    async job() {
      const id = randomUUID()
      tally.published += 1
      const status = await post(agent, port, { id, total: 1 + (tally.published % 100), pad })
      tally.recordResult(id, status)
    },
  })
  return {
    get inFlight() {
      return loop.inFlight
    },
    /** Stops sending; resolves once every request sent has its answer. */
    async stop() {
      await loop.stop()
      agent.destroy()
    },
  }
}
