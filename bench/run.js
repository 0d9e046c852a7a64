// `pnpm bench` (quick) / `pnpm bench -- --full`: every workload against the shared broker(s), contenders
// alternating round-robin; writes bench/results/<time>.json and docs/BENCHMARKS.md, prints a summary.
// Options: --only=publish,http,consume,quorum,latency,work,reconnect,memory,scale  --rounds=N
//          --brokers=4,3.10 (the first is the primary: the report's main tables)  --secondary-only=...
// Each broker's workloads run in a child process (run-broker.js) with FASTIFY_AMQP_BROKER set to it.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { parseArgs, WORKLOADS } from './lib/config.js'
import { log } from './lib/rounds.js'
import { renderMarkdown, renderSummary } from './report.js'

const { profile, only, brokers, secondary } = parseArgs(process.argv.slice(2))

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

async function runOnBroker(broker, workloads) {
  const out = new URL(`./results/.run-${process.pid}-${broker}.json`, import.meta.url).pathname
  const child = spawn(
    process.execPath,
    [new URL('./run-broker.js', import.meta.url).pathname, JSON.stringify({ profile, only: workloads, out })],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FASTIFY_AMQP_BROKER: broker } }
  )
  const [code, signal] = await once(child, 'exit')
  if (code !== 0) throw new Error(`bench on broker ${broker} exited with ${signal ?? code}`)
  const results = JSON.parse(readFileSync(out, 'utf8'))
  rmSync(out)
  return results
}

const startedAt = new Date()
const resultsDir = new URL('./results/', import.meta.url)
mkdirSync(resultsDir, { recursive: true })
log(
  `bench: ${profile.name} profile, ${profile.rounds} rounds, brokers ${brokers.join(', ')}, workloads ${only.join(', ')}`
)
const [primaryBroker, ...others] = brokers
// The primary's workloads go at the top level of the results (as before there were several brokers); its own
// start and end times give way to the whole run's.
const { rabbitmq, broker, loadStart, loadEnd, ...primary } = await runOnBroker(primaryBroker, only)
delete primary.startedAt
delete primary.finishedAt
const secondaries = []
// A second broker runs what it has of --only (e.g. none with --only=scale): nothing to run, no column. One that
// fails costs its own column, not the primary's hour of figures: the run is still written, saying so.
const failedBrokers = []
if (secondary.length > 0)
  for (const other of others) {
    try {
      secondaries.push(await runOnBroker(other, secondary))
    } catch (err) {
      log(`bench: broker ${other} failed, its column is left out: ${err.message}`)
      failedBrokers.push({ broker: other, error: err.message })
    }
  }

const results = {
  file: `${startedAt.toISOString().replace(/[:.]/g, '-')}-${profile.name}.json`,
  startedAt: startedAt.toISOString(),
  profile,
  broker,
  machine: {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGB: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    rabbitmq,
    loadStart,
    loadEnd: secondaries.at(-1)?.loadEnd ?? loadEnd,
  },
  versions,
  ...primary,
  secondaries,
  failedBrokers,
  finishedAt: new Date().toISOString(),
}
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
