// Consume-with-ack throughput: app.consume (no-op handler) beside raw amqplib with the same
// prefetch, on the same queue, alternating. Not a test. Run after `pnpm build`:
//   node bench/consume-throughput.mjs [messages=20000] [rounds=3]
import { randomUUID } from 'node:crypto'
import amqpPlugin from '@fastify-amqp/connection'
import { connect } from 'amqplib'
import Fastify from 'fastify'
import { consumer } from '../dist/index.js'

const URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const MESSAGES = Number(process.argv[2] ?? 20_000)
const ROUNDS = Number(process.argv[3] ?? 3)
const PREFETCH = 100
const body = Buffer.from(JSON.stringify({ id: randomUUID(), pad: 'x'.repeat(1024 - 60) }))

async function fill(channel, queue) {
  for (let i = 0; i < MESSAGES; i += 1) {
    channel.sendToQueue(queue, body, { contentType: 'application/json', persistent: true, messageId: String(i) })
  }
  await channel.waitForConfirms()
}

async function raw(queue) {
  const model = await connect(URL)
  const channel = await model.createChannel()
  await channel.prefetch(PREFETCH)
  let count = 0
  const start = performance.now()
  const done = new Promise((resolve) => {
    channel.consume(queue, (msg) => {
      JSON.parse(msg.content.toString()) // a real consumer reads the body too
      channel.ack(msg)
      count += 1
      if (count === MESSAGES) resolve(performance.now() - start)
    })
  })
  const ms = await done
  await model.close()
  return ms
}

async function plugin(queue) {
  const app = Fastify({ logger: false })
  await app.register(amqpPlugin, { url: URL, connectionName: 'bench-consumer' })
  await app.register(consumer)
  let count = 0
  let resolve
  const done = new Promise((r) => {
    resolve = r
  })
  let start = 0
  app.consume(queue, { prefetch: PREFETCH, retry: false, deadLetter: false }, async () => {
    count += 1
    if (count === MESSAGES) resolve(performance.now() - start)
  })
  start = performance.now()
  await app.ready()
  const ms = await done
  await app.close()
  return ms
}

const model = await connect(URL)
const setup = await model.createConfirmChannel()
const queue = `bench-consume-${randomUUID().slice(0, 8)}`
await setup.assertQueue(queue, { durable: true })
const results = { raw: [], plugin: [] }
const cpuResults = { raw: [], plugin: [] }
try {
  for (let round = 0; round < ROUNDS; round += 1) {
    const pair = [
      ['raw', raw],
      ['plugin', plugin],
    ]
    // ABBA: neither side always goes first.
    for (const [name, run] of round % 2 === 0 ? pair : pair.reverse()) {
      await fill(setup, queue)
      const cpu = process.cpuUsage()
      const ms = await run(queue)
      const used = process.cpuUsage(cpu)
      const cpuPerMessage = (used.user + used.system) / MESSAGES
      results[name].push(MESSAGES / (ms / 1000))
      cpuResults[name].push(cpuPerMessage)
      console.log(
        `round ${round + 1} ${name}: ${(MESSAGES / (ms / 1000)).toFixed(0)} msg/s, ${cpuPerMessage.toFixed(1)} µs CPU/msg`
      )
    }
  }
} finally {
  await setup.deleteQueue(queue)
  await model.close()
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const r = median(results.raw)
const p = median(results.plugin)
console.log(`median raw ${r.toFixed(0)} msg/s, plugin ${p.toFixed(0)} msg/s, ratio ${(p / r).toFixed(3)}x`)
console.log(
  `median client CPU per message: raw ${median(cpuResults.raw).toFixed(1)} µs, plugin ${median(cpuResults.plugin).toFixed(1)} µs`
)
