// Child of scale.js: one Fastify app with N `app.consume` consumers (classic durable queues <prefix>.<i>,
// declared by the consumers themselves), through the parent's fault proxy. Driven over IPC:
//   -> { ready, readyMs, rssBaseline }                         after app.ready()
//   <- { expect: phase, timeoutMs }  -> { phase, handled, ms }  every queue's handler ran for a message of
//      that phase (the parent publishes them straight to the broker after sending this), or the timeout
//   <- { rss } -> { rss }                                         after a GC
//   <- 'close' -> { closeMs }, then exits
import amqp from '@fastify-amqp/connection'
import consumer from '@fastify-amqp/consumer'
import Fastify from 'fastify'

const [url, prefix, countArg, readyTimeoutArg] = process.argv.slice(2)
const n = Number(countArg)
const send = (msg) => new Promise((resolve) => process.send(msg, resolve))

function rssAfterGc() {
  globalThis.gc?.()
  return process.memoryUsage().rss
}

// Which queues' handlers ran for the phase being waited on; a handler of another phase (a redelivery of
// an earlier one after a cut) does not count.
let phase = -1
let handled = new Uint8Array(n)
let count = 0
let allHandled = () => {}

const app = Fastify({ logger: false })
await app.register(amqp, { url, connectionName: 'bench-scale' })
await app.register(consumer)
const rssBaseline = rssAfterGc()
for (let i = 0; i < n; i++) {
  app.consume({
    queue: `${prefix}.${i}`,
    retry: false,
    deadLetter: false,
    handler: async (message) => {
      const body = message.body
      if (body.phase !== phase || handled[body.i] === 1) return
      handled[body.i] = 1
      if (++count === n) allHandled()
    },
  })
}

const started = performance.now()
let ready = true
try {
  await Promise.race([
    app.ready(),
    new Promise((_, reject) => setTimeout(() => reject(new Error('ready timeout')), Number(readyTimeoutArg)).unref()),
  ])
} catch (err) {
  ready = false
  process.stderr.write(`scale ${n}: ${err.message}\n`)
}
await send({ ready, readyMs: performance.now() - started, rssBaseline })

process.on('message', async (msg) => {
  if (msg === 'close') {
    const closing = performance.now()
    await app.close()
    await send({ closeMs: performance.now() - closing })
    process.exit(0)
  }
  if (msg.rss) {
    await send({ rss: rssAfterGc() })
    return
  }
  if (msg.expect !== undefined) {
    phase = msg.expect
    handled = new Uint8Array(n)
    count = 0
    const since = performance.now()
    const done = new Promise((resolve) => {
      allHandled = resolve
    })
    let timer
    await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, msg.timeoutMs)))])
    clearTimeout(timer)
    await send({ phase, handled: count, ms: performance.now() - since })
  }
})
