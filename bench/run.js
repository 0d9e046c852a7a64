// `pnpm bench` (quick) / `pnpm bench -- --full`: every workload against the shared broker, contenders
// alternating round-robin; writes bench/results/<time>.json and docs/BENCHMARKS.md, prints a summary.
// Options: --only=publish,http,consume,work,reconnect,memory  --rounds=N
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { consumeBench } from './consume.js'
import { httpBench } from './http.js'
import { openAdmin } from './lib/broker.js'
import { URL as AMQP_URL, parseArgs, WORKLOADS } from './lib/config.js'
import { log } from './lib/rounds.js'
import { memoryBench } from './memory.js'
import { publishBench } from './publish.js'
import { reconnectBench } from './reconnect.js'
import { reconnectConsumeBench } from './reconnect-consume.js'
import { renderMarkdown, renderSummary } from './report.js'
import { workBench } from './work.js'

const { profile, only } = parseArgs(process.argv.slice(2))

function version(name) {
  const path = new URL(`./node_modules/${name}/package.json`, import.meta.url)
  return JSON.parse(readFileSync(path, 'utf8')).version
}

const versions = {}
for (const name of [
  '@fastify-amqp/connection',
  '@fastify-amqp/publisher',
  '@fastify-amqp/consumer',
  'amqplib',
  'amqp-connection-manager',
  'rabbitmq-client',
  'fastify',
  'autocannon',
]) {
  versions[name] = version(name)
}

const startedAt = new Date()
const admin = await openAdmin(AMQP_URL)
const results = {
  file: `${startedAt.toISOString().replace(/[:.]/g, '-')}-${profile.name}.json`,
  startedAt: startedAt.toISOString(),
  profile,
  machine: {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGB: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    rabbitmq: `${admin.serverProperties.product} ${admin.serverProperties.version}`,
    loadStart: os.loadavg()[0],
  },
  versions,
}
log(`bench: ${profile.name} profile, ${profile.rounds} rounds, workloads ${only.join(', ')}`)

try {
  if (only.includes('publish')) results.publish = await publishBench({ url: AMQP_URL, admin, profile })
  if (only.includes('http')) results.http = await httpBench({ url: AMQP_URL, admin, profile })
  if (only.includes('consume')) results.consume = await consumeBench({ url: AMQP_URL, admin, profile })
  if (only.includes('work')) results.work = await workBench({ url: AMQP_URL, admin, profile })
  if (only.includes('reconnect')) {
    results.reconnect = {
      consuming: await reconnectConsumeBench({ url: AMQP_URL, admin, profile }),
      channelOpen: await reconnectBench({ cuts: profile.reconnectCuts }),
    }
  }
  if (only.includes('memory')) results.memory = await memoryBench({ url: AMQP_URL, profile })
} finally {
  await admin.close()
}

results.finishedAt = new Date().toISOString()
results.machine.loadEnd = os.loadavg()[0]
const resultsDir = new URL('./results/', import.meta.url)
mkdirSync(resultsDir, { recursive: true })
writeFileSync(new URL(results.file, resultsDir), `${JSON.stringify(results, null, 2)}\n`)
console.log(renderSummary(results))
// A partial run (--only) must not replace the full report; `node bench/report.js <file>` renders it anyway.
if (only.length === WORKLOADS.length) {
  const docs = new URL('../docs/', import.meta.url)
  mkdirSync(docs, { recursive: true })
  writeFileSync(new URL('BENCHMARKS.md', docs), renderMarkdown(results))
  console.log(`\nraw results: bench/results/${results.file}; report: docs/BENCHMARKS.md`)
} else {
  console.log(`\nraw results: bench/results/${results.file} (partial run: docs/BENCHMARKS.md left as it was)`)
}
