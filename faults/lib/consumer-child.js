// The consuming process of the consumer-kill and slow-consumer scenarios: the stage-1 consumer
// alone, in its own process so it can be SIGKILLed and so its memory is its own. Configured by a
// JSON argument; talks to the parent over IPC.
import { buildApp } from './app.js'
import { sleep } from './util.js'

const config = JSON.parse(process.argv[2])
let work = config.work ?? 0
let handled = 0
let redelivered = 0
let ids = []

const app = await buildApp({
  url: config.url,
  names: config.names,
  connectionName: config.connectionName,
  queueType: config.queueType,
  route: false,
  final: false,
  logger: { level: 'warn' },
  stage1: {
    prefetch: config.prefetch ?? 50,
    concurrency: config.concurrency,
    retry: { attempts: 3, delay: 200 },
    work: (message) => (work > 0 ? sleep(work, undefined, { signal: message.signal }).catch(() => {}) : undefined),
    onHandled(message) {
      handled += 1
      if (message.redelivered) redelivered += 1
      ids.push(message.messageId)
    },
  },
})

function report() {
  const consumer = app.consumers[0]
  const memory = process.memoryUsage()
  process.send?.({
    type: 'stats',
    handled,
    redelivered,
    inFlight: consumer?.inFlight ?? 0,
    active: consumer?.active ?? false,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    ids,
  })
  ids = []
}
const timer = setInterval(report, 100)

process.on('message', async (message) => {
  if (message.type === 'work') work = message.ms
  if (message.type === 'close') {
    clearInterval(timer)
    report()
    await app.close()
    process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready', pid: process.pid })
