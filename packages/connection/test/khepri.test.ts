import { type BrokerCluster, brokerRuntime, onlyOnPrimaryLeg, startCluster } from '@fastify-amqp/test-broker'
import t from 'tap'
import type { ConnectionEvents } from '../src/index.js'
import { buildApp, once, type Teardown, uniqueName, until } from './fixtures/helpers.js'

// A 4.x cluster keeps its metadata in Khepri: declarations need a quorum of nodes. A short store
// timeout keeps the minority test short (the default is 30 s). Following a node is the plugin's own logic.
const khepri = brokerRuntime().name === '4'
const skip = onlyOnPrimaryLeg("the publish connection following the consume one is the plugin's logic")
let cluster!: BrokerCluster // not started on a leg that skips this file
if (!skip) {
  cluster = await startCluster({ config: khepri ? ['metadata_store.khepri.default_timeout = 5000'] : [] })
  t.teardown(() => cluster.dispose())
}

/** An app on the cluster; both connections start on node 0, the first URL. */
function clusterApp(t: Teardown, connectionName: string) {
  return buildApp(
    t,
    { url: cluster.urls, connectionName, reconnect: { initialDelay: 50, maxDelay: 1_000 } },
    { pluginTimeout: 30_000 }
  )
}

t.test('when the consume connection has to move node, the publish connection follows it', { skip }, async (t) => {
  const connectionName = uniqueName('same-node')
  const app = await clusterApp(t, connectionName)
  t.same([app.amqp.connection('publish').node, app.amqp.connection('consume').node], [0, 0])
  const first = cluster.nodes[0] as (typeof cluster.nodes)[0]
  // Node 0 keeps its connections but takes no new ones: the consume connection, closed, must go elsewhere.
  await first.rabbitmqctl('suspend_listeners')
  t.teardown(() => first.rabbitmqctl('resume_listeners'))
  const moved = once<ConnectionEvents['connected'][0]>(app.amqp, 'connected', 30_000, (i) => i.role === 'consume')
  t.equal(await first.closeConnectionsNamed(`${connectionName}:consume`, 'test: move'), 1)
  await moved
  await first.rabbitmqctl('resume_listeners')
  const consume = app.amqp.connection('consume')
  const publish = app.amqp.connection('publish')
  t.equal(consume.node, 1, 'the consume connection is on node 1, the next URL')
  await until(() => publish.node === consume.node, 30_000, 'the publish connection on the same node')
  t.equal(await cluster.nodeOf(`${connectionName}:publish`), 1, 'the broker sees the publish connection on node 1')
  t.equal(await cluster.nodeOf(`${connectionName}:consume`), 1)
})

t.test(
  'on a minority node declarations time out; when the majority returns, the channel declares and consumes again',
  { skip: skip || (!khepri && 'Khepri clusters are RabbitMQ 4.2+; 3.10 keeps its metadata in Mnesia') },
  async (t) => {
    const connectionName = uniqueName('minority')
    const app = await clusterApp(t, connectionName)
    t.same([app.amqp.connection('publish').node, app.amqp.connection('consume').node], [0, 0])
    const exchange = uniqueName('minority-ex')
    const queue = uniqueName('minority-q')
    await Promise.all([cluster.stopNode(1), cluster.stopNode(2)])

    const timedOut = once<ConnectionEvents['disconnected'][0]>(app.amqp, 'disconnected', 60_000, (i) =>
      /541 .*operation timed out/.test(i.error)
    )
    const received: string[] = []
    let setups = 0
    const consumer = app.amqp.channel({
      name: 'minority-consumer',
      setup: async (channel) => {
        setups += 1
        await channel.assertExchange(exchange, 'direct')
        await channel.assertQueue(queue)
        await channel.bindQueue(queue, exchange, 'k')
        await channel.consume(queue, (message) => {
          if (!message) return
          received.push(message.content.toString())
          channel.ack(message)
        })
      },
    })
    const lost = await timedOut
    t.equal(lost.role, 'consume', 'the minority node closed the consume connection on a declaration')
    t.equal(consumer.channel, null, 'the channel is not handed out')

    await cluster.startNode(1)
    const channel = await consumer.waitForOpen(AbortSignal.timeout(60_000))
    t.ok(setups >= 2, `setup ran again (${setups} times)`)
    t.teardown(async () => {
      await channel.deleteQueue(queue).catch(() => {})
      await channel.deleteExchange(exchange).catch(() => {})
    })

    const publisher = await app.amqp.channel({ confirm: true }).waitForOpen(AbortSignal.timeout(30_000))
    await new Promise<void>((resolve, reject) =>
      publisher.publish(exchange, 'k', Buffer.from('after the majority'), { mandatory: true }, (err) =>
        err ? reject(err) : resolve()
      )
    )
    await until(() => received.length === 1, 15_000, 'the message consumed')
    t.same(received, ['after the majority'])
    t.equal(app.amqp.connection('publish').node, app.amqp.connection('consume').node, 'both on one node')
  }
)
