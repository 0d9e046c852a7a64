// reply.publish latency at fixed request rates: autocannon with overallRate (the rate across all its
// connections) against the HTTP server of http.js, so every route gets the same offered load and latency,
// not throughput, is what differs. p50, p99 and max of autocannon's per-request latency (ms).
import autocannon from 'autocannon'
import { withHttpServer } from './lib/http-server.js'
import { BODY } from './lib/payload.js'
import { append, child, log, rotate, summarize } from './lib/rounds.js'

export const latencyModes = ['ours', 'amqplib', 'amqplib-same-properties']
const WARMUP_SECONDS = 1

function runOnce(mode, rate, { url, admin, queue, seconds, connections }) {
  return withHttpServer(mode, { url, admin, queue }, async (port) => {
    const load = (duration) =>
      autocannon({
        url: `http://127.0.0.1:${port}/x`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(BODY),
        connections,
        overallRate: rate,
        duration,
      })
    // A fresh server's first requests run cold code (JIT, the channel's first confirms): untimed warm-up first.
    await load(WARMUP_SECONDS)
    const result = await load(seconds)
    return {
      requestsPerSecond: result.requests.average,
      total: result.requests.total,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      errors: result.non2xx + result.errors + result.timeouts,
    }
  })
}

export async function latencyBench({ url, admin, profile }) {
  const queue = await admin.queue('latency')
  const seconds = profile.latencySeconds
  const connections = profile.httpConnections
  const runs = {}
  try {
    for (let round = 0; round < profile.rounds; round++) {
      for (const rate of profile.latencyRates) {
        for (const mode of rotate(latencyModes, round)) {
          const run = await runOnce(mode, rate, { url, admin, queue, seconds, connections })
          append(child(runs, rate), mode, run)
          log(
            `latency ${rate} req/s round ${round + 1}/${profile.rounds} ${mode}: ${run.requestsPerSecond.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, max ${run.max} ms` +
              (run.errors ? `, ${run.errors} errors` : '')
          )
        }
      }
    }
  } finally {
    await admin.deleteQueue(queue)
  }
  const results = { seconds, connections, byRate: {} }
  for (const [rate, byMode] of Object.entries(runs)) {
    results.byRate[rate] = {}
    for (const [mode, list] of Object.entries(byMode)) {
      results.byRate[rate][mode] = {
        requestsPerSecond: summarize(list.map((run) => run.requestsPerSecond)),
        p50: summarize(list.map((run) => run.p50)),
        p99: summarize(list.map((run) => run.p99)),
        max: summarize(list.map((run) => run.max)),
        errors: list.reduce((sum, run) => sum + run.errors, 0),
      }
    }
  }
  return results
}
