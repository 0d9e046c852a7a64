// HTTP to broker: autocannon (in this process) against a Fastify server in a child process, so the
// load generator and the server do not share an event loop. Same queue, purged between runs.
import autocannon from 'autocannon'
import { withHttpServer } from './lib/http-server.js'
import { BODY } from './lib/payload.js'
import { append, log, rotate, summarize } from './lib/rounds.js'
import { brokerCountersOrNull } from './lib/work.js'

export const httpModes = ['ours', 'amqplib', 'amqplib-mandatory', 'amqplib-same-properties', 'ceiling']

function runOnce(mode, { url, admin, queue, seconds, connections }) {
  return withHttpServer(mode, { url, admin, queue }, async (port) => {
    const before = await brokerCountersOrNull(url)
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/x`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(BODY),
      connections,
      duration: seconds,
    })
    const brokerReductions = perRequest(before, await brokerCountersOrNull(url), result.requests.total)
    const stored = mode === 'ceiling' ? null : await admin.count(queue)
    return {
      brokerReductions,
      requestsPerSecond: result.requests.average,
      total: result.requests.total,
      latencyP50: result.latency.p50,
      latencyP99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      stored,
    }
  })
}

// The broker's work per request, counted outside autocannon's run (lib/work.js): unlike req/s on a
// loaded machine, it tells a few percent apart. (The server's CPU per request is not shown: it
// falls as throughput rises, because busier event-loop turns batch more, so it restates req/s.)
function perRequest(before, after, requests) {
  return before && after ? (after.total - before.total) / requests : null
}

/** The median of the runs whose broker work was counted; null when none was. */
function countedMedian(values) {
  const counted = values.filter((value) => value !== null)
  return counted.length > 0 ? summarize(counted).median : null
}

export async function httpBench({ url, admin, profile }) {
  const queue = await admin.queue('http')
  const seconds = profile.httpSeconds
  const connections = profile.httpConnections
  const runs = {}
  try {
    for (let round = 0; round < profile.rounds; round++) {
      for (const mode of rotate(httpModes, round)) {
        const run = await runOnce(mode, { url, admin, queue, seconds, connections })
        append(runs, mode, run)
        log(
          `http round ${round + 1}/${profile.rounds} ${mode}: ${run.requestsPerSecond.toFixed(0)} req/s, p99 ${run.latencyP99} ms, broker ${run.brokerReductions?.toFixed(0)} reductions/req` +
            (run.non2xx || run.errors ? `, ${run.non2xx} non-2xx, ${run.errors} errors` : '')
        )
      }
    }
  } finally {
    await admin.deleteQueue(queue)
  }
  const results = { seconds, connections, modes: {} }
  for (const mode of httpModes) {
    results.modes[mode] = {
      ...summarize(runs[mode].map((run) => run.requestsPerSecond)),
      latencyP99: summarize(runs[mode].map((run) => run.latencyP99)).median,
      brokerReductions: countedMedian(runs[mode].map((run) => run.brokerReductions)),
      non2xx: runs[mode].reduce((sum, run) => sum + run.non2xx, 0),
      errors: runs[mode].reduce((sum, run) => sum + run.errors, 0),
      runs: runs[mode],
    }
  }
  return results
}
