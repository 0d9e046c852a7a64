// Child of profile.js: one contender (default fastify-amqp: `ours`) on a queue the parent made, CPU-profiled
// with the inspector from after setup to before close, so module loading and connecting stay out of it.
//   publish <queue> <n> _ [contender]: pipelined then 1,000 awaiters (or just one: pipelined, awaiters);
//   consume <queue> <n> <prefetch> [contender].
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { consumeContenders } from './consume.js'
import { URL } from './lib/config.js'
import { publishContenders } from './publish.js'

const [workload, queue, countArg, prefetchArg, name = 'ours', out] = process.argv.slice(2)
const n = Number(countArg)
const session = new Session()
session.connect()
await session.post('Profiler.enable')

let contender
let run
if (workload === 'publish') {
  contender = await publishContenders[name](URL, queue, n)
  run = async () => {
    await contender.pipelined()
    await contender.awaiters(1_000)
  }
} else if (workload === 'pipelined' || workload === 'awaiters') {
  contender = await publishContenders[name](URL, queue, n)
  run = () => (workload === 'pipelined' ? contender.pipelined() : contender.awaiters(1_000))
} else if (workload === 'consume') {
  contender = await consumeContenders[name](URL, queue, n, Number(prefetchArg))
  run = () => contender.consume()
} else {
  throw new Error(`unknown workload ${workload}`)
}

const started = performance.now()
const cpu = process.cpuUsage()
await session.post('Profiler.start')
await run()
const { profile } = await session.post('Profiler.stop')
const used = process.cpuUsage(cpu)
const ms = performance.now() - started
await contender.close()
writeFileSync(out, JSON.stringify(profile))
const cpuMs = (used.user + used.system) / 1000
process.stderr.write(
  `profile-target ${workload} ${name}: ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU ` +
    `(${((cpuMs * 1000) / (workload === 'publish' ? 2 * n : n)).toFixed(1)} µs per message)\n`
)
