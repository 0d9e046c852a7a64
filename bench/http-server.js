// Child process of http.js: one Fastify server, POST /x, in one of three modes:
//   ours: reply.publish; amqplib*: the same route publishing by hand on a raw confirm channel (plain, with
//   mandatory, with reply.publish's properties); ceiling: no publish.
// Tells the parent its port over IPC; closes on 'close'.
import amqp from '@fastify-amqp/connection'
import publisher from '@fastify-amqp/publisher'
import { connect } from 'amqplib'
import Fastify from 'fastify'
import { messageIds, RAW_PROPERTIES } from './lib/payload.js'

// The hand-written routes: plain; with mandatory (no silent drop); with every property reply.publish sets.
const RAW_MODES = {
  amqplib: () => () => RAW_PROPERTIES,
  'amqplib-mandatory': () => {
    const properties = Object.freeze({ ...RAW_PROPERTIES, mandatory: true })
    return () => properties
  },
  // One object literal per request, as a careful hand-written route would build it: spreading one object
  // into another per request cost this route ~15% more server CPU (150 µs/request against 130 at 2,000 req/s).
  'amqplib-same-properties': () => {
    const nextId = messageIds()
    return (request) => ({
      persistent: true,
      contentType: 'application/json',
      mandatory: true,
      messageId: nextId(),
      timestamp: Math.floor(Date.now() / 1000),
      correlationId: request.id,
    })
  },
}

const [mode, url, queue] = process.argv.slice(2)
const app = Fastify({ logger: false })
let model = null

if (mode === 'ours') {
  await app.register(amqp, { url, connectionName: 'bench-http-ours' })
  await app.register(publisher, {})
  app.post('/x', async (request, reply) => {
    await reply.publish('', queue, request.body)
    return reply.code(202).send()
  })
} else if (mode in RAW_MODES) {
  model = await connect(url, { clientProperties: { connection_name: 'bench-http-amqplib' } })
  const ch = await model.createConfirmChannel()
  const propertiesFor = RAW_MODES[mode]()
  app.post('/x', async (request, reply) => {
    await new Promise((resolve, reject) => {
      ch.sendToQueue(queue, Buffer.from(JSON.stringify(request.body)), propertiesFor(request), (err) =>
        err ? reject(err) : resolve()
      )
    })
    return reply.code(202).send()
  })
} else if (mode === 'ceiling') {
  app.post('/x', async (_request, reply) => reply.code(202).send())
} else {
  throw new Error(`unknown mode ${mode}`)
}

await app.listen({ host: '127.0.0.1', port: 0 })
process.send({ port: app.server.address().port })
process.on('message', async (msg) => {
  if (msg !== 'close') return
  await app.close()
  await model?.close()
  process.disconnect()
})
