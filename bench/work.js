// Work per message: the publish (pipelined; classic and quorum queue) and consume (prefetch 100) workloads again, each run in a
// fresh process, counting the broker's Erlang reductions and the client's CPU time per message
// (lib/work.js) instead of timing them. Counts do not swing with the machine's load as throughput
// does, so they tell a few percent apart where the timed rounds cannot.
import { consumeContenders, consumeOnce } from './consume.js'
import { append, child, log, rotate, summarize } from './lib/rounds.js'
import { brokerCounters } from './lib/work.js'
import { publishContenders, publishOnce } from './publish.js'

const PREFETCH = 100
const MEASURES = ['brokerReductions', 'channelReductions', 'brokerMicros', 'clientMicros']

export async function workBench({ url, admin, profile }) {
  try {
    await brokerCounters(url)
  } catch (err) {
    log(`work: skipped, rabbitmqctl cannot read the broker's counters (${err.message.split('\n')[0]})`)
    return {
      skipped: 'rabbitmqctl could not read the broker counters (the broker is not on this machine, or not reachable)',
    }
  }
  const n = profile.workMessages
  const results = {
    messages: n,
    rounds: profile.workRounds,
    prefetch: PREFETCH,
    publish: {},
    consume: {},
    publishQuorum: {},
  }
  const queue = await admin.queue('work')
  const quorumQueue = await admin.queue('work-quorum', 'quorum')
  try {
    for (let round = 0; round < profile.workRounds; round++) {
      for (const name of rotate(Object.keys(publishContenders), round)) {
        const { work } = await publishOnce(name, 'pipelined', { url, admin, queue, n, isolated: true, countWork: true })
        record(results.publish, name, work)
        log(`work publish round ${round + 1}/${profile.workRounds} ${name}: ${describe(work)}`)
      }
      for (const name of rotate(Object.keys(consumeContenders), round)) {
        const { work } = await consumeOnce(name, {
          url,
          admin,
          queue,
          n,
          prefetch: PREFETCH,
          isolated: true,
          countWork: true,
        })
        record(results.consume, name, work)
        log(`work consume round ${round + 1}/${profile.workRounds} ${name}: ${describe(work)}`)
      }
      for (const name of rotate(Object.keys(publishContenders), round)) {
        const spec = { url, admin, queue: quorumQueue, n, isolated: true, countWork: true }
        const { work } = await publishOnce(name, 'pipelined', spec)
        record(results.publishQuorum, name, work)
        log(`work publish quorum round ${round + 1}/${profile.workRounds} ${name}: ${describe(work)}`)
      }
    }
  } finally {
    await admin.deleteQueue(queue)
    await admin.deleteQueue(quorumQueue)
  }
  for (const side of [results.publish, results.consume, results.publishQuorum]) {
    for (const byMeasure of Object.values(side)) {
      for (const measure of MEASURES) byMeasure[measure] = summarize(byMeasure[measure])
    }
  }
  return results
}

function record(side, name, work) {
  for (const measure of MEASURES) append(child(side, name), measure, work[measure])
}

function describe(work) {
  return `broker ${work.brokerReductions.toFixed(0)} reductions/msg (channel ${work.channelReductions.toFixed(0)}), ${work.brokerMicros.toFixed(1)} µs/msg, client ${work.clientMicros.toFixed(1)} µs/msg`
}
