// Child of run.js: the workloads against the one shared broker FASTIFY_AMQP_BROKER picks (the test-broker
// helpers and the work counters are bound to it when imported), results as JSON into the file named.
// argv: JSON { profile, only, out }.
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { consumeBench } from './consume.js'
import { httpBench } from './http.js'
import { latencyBench } from './latency.js'
import { openAdmin } from './lib/broker.js'
import { URL as AMQP_URL } from './lib/config.js'
import { log } from './lib/rounds.js'
import { memoryBench } from './memory.js'
import { publishBench } from './publish.js'
import { quorumBench } from './quorum.js'
import { reconnectBench } from './reconnect.js'
import { reconnectConsumeBench } from './reconnect-consume.js'
import { scaleBench } from './scale.js'
import { workBench } from './work.js'

const { profile, only, out } = JSON.parse(process.argv[2])
const broker = process.env.FASTIFY_AMQP_BROKER
const admin = await openAdmin(AMQP_URL)
const results = {
  broker,
  rabbitmq: `${admin.serverProperties.product} ${admin.serverProperties.version}`,
  startedAt: new Date().toISOString(),
  loadStart: os.loadavg()[0],
}
log(`bench: broker ${broker} (${results.rabbitmq}), workloads ${only.join(', ')}`)
const spec = { url: AMQP_URL, admin, profile }
try {
  if (only.includes('publish')) results.publish = await publishBench(spec)
  if (only.includes('http')) results.http = await httpBench(spec)
  if (only.includes('consume')) results.consume = await consumeBench(spec)
  if (only.includes('quorum')) results.quorum = await quorumBench(spec)
  if (only.includes('latency')) results.latency = await latencyBench(spec)
  if (only.includes('work')) results.work = await workBench(spec)
  if (only.includes('reconnect')) {
    results.reconnect = {
      consuming: await reconnectConsumeBench(spec),
      channelOpen: await reconnectBench({ cuts: profile.reconnectCuts }),
    }
  }
  if (only.includes('memory')) results.memory = await memoryBench(spec)
  if (only.includes('scale')) results.scale = await scaleBench(spec)
} finally {
  await admin.close()
}
results.finishedAt = new Date().toISOString()
results.loadEnd = os.loadavg()[0]
writeFileSync(out, `${JSON.stringify(results)}\n`)
