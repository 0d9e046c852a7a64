import { assertTopology } from '@fastify-amqp/connection'
import { connect } from 'amqplib'

/**
 * A plain amqplib connection beside the app under test: injects raw (poison) messages, reads
 * dead-letter queues, checks depths, deletes what a scenario declared. Every call opens a channel
 * of its own, so a 404 on one never disturbs the others.
 */
export async function openAdmin(url) {
  let model = null
  // Reconnects on demand: a scenario may kill or restart the broker under it.
  async function connection() {
    if (model !== null) return model
    let opened = null
    let failure = null
    // Several URLs (a cluster): the first node that answers.
    for (const candidate of [url].flat()) {
      try {
        opened = await connect(candidate, { clientProperties: { connection_name: 'faults-admin' } })
        break
      } catch (err) {
        failure = err
      }
    }
    if (opened === null) throw failure
    opened.on('error', () => {})
    opened.on('close', () => {
      if (model === opened) model = null
    })
    model = opened
    return opened
  }
  await connection()

  async function withChannel(fn, confirm = false) {
    const m = await connection()
    const ch = confirm ? await m.createConfirmChannel() : await m.createChannel()
    ch.on('error', () => {})
    try {
      return await fn(ch)
    } finally {
      await ch.close().catch(() => {})
    }
  }

  return {
    /** Declares a topology as the connection plugin does; in a cluster, quorum leaders land on this connection's node. */
    declare(topology) {
      return withChannel((ch) => assertTopology(ch, topology))
    },
    /** Publishes raw bytes with confirms; resolves once the broker has them all. */
    publishRaw(exchange, routingKey, messages) {
      return withChannel(async (ch) => {
        for (const { content, properties } of messages) {
          ch.publish(exchange, routingKey, content, { persistent: true, ...properties })
        }
        await ch.waitForConfirms()
      }, true)
    },
    /** Messages ready in the queue (not counting unacked ones); null if it does not exist. */
    depth(queue) {
      return withChannel(async (ch) => (await ch.checkQueue(queue)).messageCount).catch(() => null)
    },
    /** Takes every message of a queue (acked: the queue is emptied). */
    drain(queue) {
      return withChannel(async (ch) => {
        const out = []
        for (;;) {
          const message = await ch.get(queue, { noAck: true })
          if (message === false) return out
          out.push(message)
        }
      })
    },
    /** Deletes a queue; `ifEmpty` (classic queues): only with no ready message. Resolves false if the broker refused. */
    deleteQueue(queue, { ifEmpty = false } = {}) {
      return withChannel(async (ch) => {
        await ch.deleteQueue(queue, { ifEmpty })
        return true
      }).catch(() => false)
    },
    unbind(queue, exchange, routingKey) {
      return withChannel((ch) => ch.unbindQueue(queue, exchange, routingKey))
    },
    async deleteAll(queues, exchanges = []) {
      for (const queue of queues) await withChannel((ch) => ch.deleteQueue(queue)).catch(() => {})
      for (const exchange of exchanges) await withChannel((ch) => ch.deleteExchange(exchange)).catch(() => {})
    },
    close: async () => {
      const m = model
      model = null
      await m?.close().catch(() => {})
    },
  }
}
