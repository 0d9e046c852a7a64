import t from 'tap'
import { type BrokerCluster, onlyOnPrimaryLeg, startBroker, startCluster } from '../src/index.js'
import { closeQuietly, open, processesMentioning, randomName } from './fixtures/amqp.js'

// The cluster helpers run the same rabbitmqctl steps on both versions; node.test.ts covers a 3.10 node.
const skip = onlyOnPrimaryLeg('the cluster helpers work alike on both versions; node.test.ts runs a 3.10 node')

// One 3-node cluster serves every subtest, in order: forming it takes most of this file's time.
let cluster!: BrokerCluster // not started on a leg that skips this file
if (!skip) {
  const started = Date.now()
  cluster = await startCluster()
  t.comment(`cluster of 3 formed in ${((Date.now() - started) / 1000).toFixed(1)}s`)
  t.teardown(() => cluster.dispose())
}

t.test('three nodes on their own ports form one cluster', { skip }, async (t) => {
  t.equal(cluster.nodes.length, 3)
  t.equal(new Set(cluster.urls).size, 3, 'one URL per node')
  t.same(
    cluster.urls,
    cluster.nodes.map((node) => node.url)
  )
  const names = cluster.nodes.map((node) => node.nodeName).sort()
  const status = await cluster.status()
  t.same([...status.members].sort(), names, 'every node is a member')
  t.same([...status.running].sort(), names, 'every node is running')
  await t.rejects(cluster.stopNode(3), RangeError)
  await t.rejects(startCluster({ size: 0 }), RangeError)
  await t.rejects(startBroker({ cookie: 'not a cookie!' }), /invalid Erlang cookie/)
})

t.test('a 4.x cluster keeps its metadata in Khepri, as new 4.2+ clusters do by default', { skip }, async (t) => {
  for (const node of cluster.nodes) {
    t.equal((await node.rabbitmqctl('-q', 'eval', 'rabbit_khepri:is_enabled().')).trim(), 'true', node.nodeName)
  }
})

t.test('nodeOf() names the node that holds a connection', { skip }, async (t) => {
  const name = randomName('tc-conn')
  const connection = await open(cluster.urls[2] as string, name)
  t.teardown(() => closeQuietly(connection))
  t.equal(await cluster.nodeOf(name), 2)
  t.equal(await cluster.nodeOf(randomName('tc-nobody')), undefined)
})

t.test("leaderOf() names the node holding a quorum queue's leader", { skip }, async (t) => {
  const queue = randomName('tc-leader')
  const connection = await open(cluster.urls[1] as string)
  t.teardown(() => closeQuietly(connection))
  const channel = await connection.createChannel()
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
  t.teardown(() => channel.deleteQueue(queue).catch(() => {}))
  t.equal(await cluster.leaderOf(queue), 1, 'declared through node 1: led from there')
  t.equal(await cluster.leaderOf(randomName('tc-nothing')), undefined)
})

t.test('a quorum queue survives stopping node 0; node 0 rejoins after start', { skip }, async (t) => {
  const queue = randomName('tc-quorum')
  const first = cluster.nodes[0]
  if (!first) throw new Error('no node 0')
  const writer = await open(cluster.urls[0] as string)
  t.teardown(() => closeQuietly(writer))
  const confirms = await writer.createConfirmChannel()
  await confirms.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
  confirms.sendToQueue(queue, Buffer.from('before the stop'), { persistent: true })
  await confirms.waitForConfirms()
  await writer.close()

  await cluster.stopNode(0)
  t.notOk(first.isRunning, 'node 0 is stopped')
  t.same(processesMentioning(first.dataDir), [], 'no process of node 0 is left')
  const status = await cluster.status()
  t.notOk(status.running.includes(first.nodeName), 'the others see node 0 down')
  t.ok(status.members.includes(first.nodeName), 'node 0 is still a member')

  const reader = await open(cluster.urls[1] as string)
  t.teardown(() => closeQuietly(reader))
  const channel = await reader.createConfirmChannel()
  const message = await channel.get(queue, { noAck: true })
  t.equal(
    message === false ? '(queue empty)' : message.content.toString(),
    'before the stop',
    'the message is consumable through node 1'
  )
  channel.sendToQueue(queue, Buffer.from('while node 0 is down'), { persistent: true })
  await channel.waitForConfirms()
  t.pass('publishing to the quorum queue still gets confirms with 2 of 3 nodes')
  await reader.close()

  await cluster.startNode(0)
  t.ok(first.isRunning)
  const names = cluster.nodes.map((node) => node.nodeName).sort()
  t.same([...(await cluster.status()).running].sort(), names, 'all three run again')
  const back = await open(cluster.urls[0] as string)
  t.teardown(() => closeQuietly(back))
  const again = await back.createChannel()
  const later = await again.get(queue, { noAck: true })
  t.equal(
    later === false ? '(queue empty)' : later.content.toString(),
    'while node 0 is down',
    'node 0 serves the queue again'
  )
  await again.deleteQueue(queue)
})

t.test('dispose() removes every node', { skip }, async (t) => {
  const dirs = cluster.nodes.map((node) => node.dataDir)
  await cluster.dispose()
  for (const dir of dirs) t.same(processesMentioning(dir), [], `nothing runs out of ${dir}`)
  await cluster.dispose()
  t.pass('idempotent')
})
