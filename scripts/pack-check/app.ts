// The app scripts/pack-check.sh installs from the packed tarballs with npm, outside the workspace, type-checks
// (strict, NodeNext) and runs: one valid order is handled, one invalid one is dead-lettered. The TypeBox import
// below is swapped per TypeBox line by pack-check.sh.
import amqp, { type ConsumeMessage } from '@fastify-amqp/connection'
import consumer from '@fastify-amqp/consumer'
import publisher from '@fastify-amqp/publisher'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'

const url = process.env.AMQP_URL
if (!url) throw new Error('AMQP_URL is not set')
const queue = `pack-check.${process.pid}.${Date.now()}`
const dlq = `${queue}.dlq`
const Order = Type.Object({ id: Type.String(), total: Type.Number() })

const app = Fastify({ logger: { level: 'warn' } })
await app.register(amqp, { url, connectionName: 'pack-check' })
await app.register(publisher)
await app.register(consumer)

let orderHandled: (order: { id: string; total: number }) => void = () => {}
const handled = new Promise<{ id: string; total: number }>((resolve) => {
  orderHandled = resolve
})
app.consume(queue, { schema: { body: Order }, retry: false }, async (message) => {
  const total: number = message.body.total
  // @ts-expect-error the schema types the body: it has no `note` (an `any` body would make this line an error)
  void message.body.note
  orderHandled({ id: message.body.id, total })
})

app.post('/orders', async (request, reply) => {
  const receipt = await reply.publish('', queue, request.body)
  return reply.code(202).send({ messageId: receipt.messageId })
})

let deadLetter: (msg: ConsumeMessage) => void = () => {}
const deadLettered = new Promise<ConsumeMessage>((resolve) => {
  deadLetter = resolve
})
const watcher = app.amqp.channel({
  setup: async (channel) => {
    await channel.assertQueue(dlq, { durable: true })
    await channel.consume(dlq, (msg) => msg && deadLetter(msg), { noAck: true })
  },
})

// onClose hooks run last-added first: this one after the consumer's preClose has cancelled its consumer (so
// deleting the queue cancels nobody) and before the consumer and connection close their channels.
app.addHook('onClose', async () => {
  const channel = await watcher.waitForOpen()
  await channel.deleteQueue(queue)
  await channel.deleteQueue(dlq)
})

const timeout = setTimeout(() => {
  console.error('pack-check: no answer within 30 s')
  process.exit(1)
}, 30_000)

try {
  await app.ready()
  await watcher.waitForOpen()
  const response = await app.inject({ method: 'POST', url: '/orders', payload: { id: 'o-1', total: 42 } })
  if (response.statusCode !== 202) throw new Error(`POST /orders answered ${response.statusCode}: ${response.body}`)
  await app.publisher.publish('', queue, { id: 'o-2' })

  const order = await handled
  if (order.id !== 'o-1' || order.total !== 42) throw new Error(`handled the wrong order: ${JSON.stringify(order)}`)
  const dead = await deadLettered
  const reason = dead.properties.headers?.['x-death-reason']
  const body = JSON.parse(dead.content.toString()) as { id?: string }
  if (reason !== 'schema' || body.id !== 'o-2') throw new Error(`dead letter: reason ${reason}, body ${body.id}`)
  console.log(`pack-check: o-1 handled, o-2 dead-lettered (x-death-reason: ${reason}) on ${queue}`)
} finally {
  await app.close()
  clearTimeout(timeout)
}
