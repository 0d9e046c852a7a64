import { onlyOnPrimaryLeg, startFaultProxy } from '@fastify-amqp/test-broker'
import { connect } from 'amqplib'
import t from 'tap'
import { buildApp, SHARED_URL, uniqueName, until } from './fixtures/helpers.js'

// Past one connection's channel_max (2,047 on RabbitMQ): before the consume pool, the consumers beyond it never consumed.
const CONSUMERS = 3_000

/** Deletes many queues over a few channels at once (one channel answers one call at a time). */
async function deleteQueues(queues: string[], lanes = 16): Promise<void> {
  const model = await connect(SHARED_URL)
  try {
    const channels = await Promise.all(Array.from({ length: lanes }, () => model.createChannel()))
    await Promise.all(
      channels.map(async (channel, lane) => {
        for (let i = lane; i < queues.length; i += lanes) await channel.deleteQueue(queues[i] as string)
      })
    )
  } finally {
    await model.close()
  }
}

const skip = onlyOnPrimaryLeg("the consume pool is the plugin's logic; channel_max is 2,047 on both versions")

t.test(
  `${CONSUMERS} consumers in one app: every one consumes, and again after a connection cut`,
  { skip },
  async (t) => {
    const prefix = uniqueName('scale')
    const queues = Array.from({ length: CONSUMERS }, (_, i) => `${prefix}.${i}`)
    const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
    t.teardown(() => proxy.close())
    const rounds = [new Set<string>(), new Set<string>()]
    let round = 0
    const started = Date.now()
    const app = await buildApp(t, {
      connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 50, maxDelay: 1_000 } },
      consumer: { retry: false, deadLetter: false },
      declare: (app) => {
        for (const queue of queues) {
          app.consume(queue, { prefetch: 1 }, async () => {
            rounds[round]?.add(queue)
          })
        }
      },
    })
    t.teardown(async () => {
      await app.close()
      await deleteQueues(queues)
    })
    t.comment(`ready after ${Date.now() - started} ms`)
    const pool = app.amqp.health().consumePool
    t.equal(pool.channels, CONSUMERS, 'a channel per consumer')
    t.ok(
      pool.connections >= Math.ceil(CONSUMERS / 2_047),
      `${pool.connections} consume connections, none past channel_max`
    )

    const feeder = await connect(SHARED_URL)
    t.teardown(() => feeder.close().catch(() => {}))
    const channel = await feeder.createConfirmChannel()
    const feed = async () => {
      for (const queue of queues) channel.sendToQueue(queue, Buffer.from('{}'), { contentType: 'application/json' })
      await channel.waitForConfirms()
    }
    await feed()
    await until(() => rounds[0]?.size === CONSUMERS, 60_000, `every consumer to handle one (${rounds[0]?.size})`)
    t.equal(rounds[0]?.size, CONSUMERS, 'every consumer consumed')

    round = 1
    const cutAt = Date.now()
    proxy.cut()
    await until(
      () => app.amqp.health().connections.consume.reconnects >= pool.connections,
      30_000,
      'the pool to reconnect'
    )
    await until(() => app.consumers.every((consumer) => consumer.active), 60_000, 'every consumer subscribed again')
    t.comment(`all subscribed again ${Date.now() - cutAt} ms after the cut`)
    await feed()
    await until(() => rounds[1]?.size === CONSUMERS, 60_000, `every consumer to handle one again (${rounds[1]?.size})`)
    t.equal(rounds[1]?.size, CONSUMERS, 'every consumer consumed again after the cut')
  }
)
