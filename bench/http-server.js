// Child process of http.js: one Fastify server, POST /x, in one of three modes:
//   ours: reply.publish; amqplib: the same route publishing by hand on a raw confirm channel; ceiling: no publish.
// Tells the parent its port over IPC; closes on 'close'.
import amqp from '@fastify-amqp/connection'
import publisher from '@fastify-amqp/publisher'
import { connect } from 'amqplib'
import Fastify from 'fastify'
import { RAW_PROPERTIES } from './lib/payload.js'

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
} else if (mode === 'amqplib') {
  model = await connect(url, { clientProperties: { connection_name: 'bench-http-amqplib' } })
  const ch = await model.createConfirmChannel()
  app.post('/x', async (request, reply) => {
    await new Promise((resolve, reject) => {
      ch.sendToQueue(queue, Buffer.from(JSON.stringify(request.body)), RAW_PROPERTIES, (err) =>
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
