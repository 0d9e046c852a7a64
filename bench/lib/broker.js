// An admin connection straight to the shared broker: declares, fills, checks and deletes our own queues only.
import { randomBytes } from 'node:crypto'
import { connect } from 'amqplib'
import { BODY, RAW_PROPERTIES } from './payload.js'

export function uniqueName(kind) {
  return `bench.${kind}.${process.pid}.${randomBytes(4).toString('hex')}`
}

export async function openAdmin(url) {
  const model = await connect(url, { clientProperties: { connection_name: 'bench-admin' } })
  const channel = await model.createConfirmChannel()
  const queues = new Set()
  return {
    serverProperties: model.connection.serverProperties,
    async queue(kind) {
      const name = uniqueName(kind)
      await channel.assertQueue(name, { durable: true })
      queues.add(name)
      return name
    },
    async purge(queue) {
      await channel.purgeQueue(queue)
    },
    async count(queue) {
      return (await channel.checkQueue(queue)).messageCount
    },
    /** n persistent 1 KB JSON messages, through a confirm channel, respecting backpressure. */
    async fill(queue, n) {
      const content = Buffer.from(JSON.stringify(BODY))
      for (let i = 0; i < n; i++) {
        if (!channel.sendToQueue(queue, content, RAW_PROPERTIES)) await new Promise((r) => channel.once('drain', r))
      }
      await channel.waitForConfirms()
    },
    /** Publishes one message now (not through any proxy). */
    send(queue, body) {
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(body)), { contentType: 'application/json' })
    },
    async deleteQueue(queue) {
      queues.delete(queue)
      await channel.deleteQueue(queue)
    },
    async close() {
      for (const queue of queues) await channel.deleteQueue(queue).catch(() => {})
      await model.close()
    },
  }
}
