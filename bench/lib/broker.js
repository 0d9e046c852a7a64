// An admin connection straight to the shared broker: declares, fills, checks and deletes our own queues only.
import { randomBytes } from 'node:crypto'
import { connect } from 'amqplib'
import { BODY, RAW_PROPERTIES } from './payload.js'

export function uniqueName(kind) {
  return `bench.${kind}.${process.pid}.${randomBytes(4).toString('hex')}`
}

/** The x-arguments of a bench queue of this type. */
export function queueArguments(type = 'classic') {
  if (type === 'quorum') return { 'x-queue-type': 'quorum' }
  if (type === 'classic') return {}
  throw new Error(`unknown queue type ${type}`)
}

export async function openAdmin(url) {
  const model = await connect(url, { clientProperties: { connection_name: 'bench-admin' } })
  const channel = await model.createConfirmChannel()
  const queues = new Set()
  return {
    serverProperties: model.connection.serverProperties,
    /** A durable queue of our own: classic, or quorum (x-queue-type, the only argument: what consumers declare too). */
    async queue(kind, type = 'classic') {
      const name = uniqueName(kind)
      await channel.assertQueue(name, { durable: true, arguments: queueArguments(type) })
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

/**
 * Deletes many queues over `channels` channels at once: one channel does one queue.delete round trip
 * after another, so 5,000 queues on one take seconds, spread over several they go in parallel.
 */
export async function deleteQueuesInParallel(url, names, channels = 32) {
  const model = await connect(url, { clientProperties: { connection_name: 'bench-admin-delete' } })
  try {
    const pending = [...names]
    const worker = async () => {
      const ch = await model.createChannel()
      for (let name = pending.pop(); name !== undefined; name = pending.pop()) await ch.deleteQueue(name)
      await ch.close()
    }
    await Promise.all(Array.from({ length: Math.min(channels, names.length) }, worker))
  } finally {
    await model.close()
  }
}
