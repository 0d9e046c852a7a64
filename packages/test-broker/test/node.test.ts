import { existsSync } from 'node:fs'
import amqp from 'amqplib'
import t from 'tap'
import { SHARED_NODE_NAME, startBroker } from '../src/index.js'
import { closeQuietly, open, processesMentioning, randomName, waitFor } from './fixtures/amqp.js'

// One disposable node serves every subtest, in order; dispose() also runs on failure.
const node = await startBroker({ rabbitEnv: { dead_letter_worker_consumer_prefetch: 7 } })
t.teardown(() => node.dispose())

t.test('starts its own node on its own port and directory', async (t) => {
  t.match(node.nodeName, /^tb-[0-9a-f]+@localhost$/)
  t.not(node.port, 5672)
  t.equal(node.url, `amqp://guest:guest@127.0.0.1:${node.port}`)
  t.ok(existsSync(node.dataDir), 'data dir exists')
  t.not(processesMentioning(node.dataDir).length, 0, 'a process runs out of the data dir')
  t.equal((await node.rabbitmqctl('-q', 'eval', 'node().')).trim().replace(/'/g, ''), node.nodeName)
  await t.rejects(node.rabbitmqctl('no_such_command'), /no_such_command failed \(exit code 64\)/)
  await t.rejects(startBroker({ name: 'not a valid name!' }), /invalid node name/)
  const sharedName = SHARED_NODE_NAME.replace(/@.*/, '')
  await t.rejects(startBroker({ name: sharedName }), /registered with epmd by another running Erlang node/)
})

t.test('rabbitEnv reaches the rabbit application (advanced.config); a key that is no atom is refused', async (t) => {
  const value = await node.rabbitmqctl(
    '-q',
    'eval',
    'application:get_env(rabbit, dead_letter_worker_consumer_prefetch).'
  )
  t.equal(value.trim(), '{ok,7}')
  await t.rejects(startBroker({ rabbitEnv: { 'Not-An-Atom': 1 } }), /not an Erlang atom/)
})

t.test('restart() keeps durable data and ports; restart({ keepData: false }) wipes them', async (t) => {
  const queue = randomName('tb-durable')
  const port = node.port
  const writer = await open(node.url)
  const confirms = await writer.createConfirmChannel()
  await confirms.assertQueue(queue, { durable: true })
  confirms.sendToQueue(queue, Buffer.from('survives restarts'), { persistent: true })
  await confirms.waitForConfirms()
  await writer.close()

  await node.restart({ keepData: true })
  t.equal(node.port, port, 'same port after restart')
  const reader = await open(node.url)
  t.teardown(() => closeQuietly(reader))
  const channel = await reader.createChannel()
  const message = await channel.get(queue, { noAck: true })
  t.equal(
    message === false ? '(queue empty)' : message.content.toString(),
    'survives restarts',
    'the persistent message is still there'
  )
  await reader.close()

  await node.restart({ keepData: false })
  t.equal(node.port, port, 'same port after a wiping restart')
  const checker = await open(node.url)
  t.teardown(() => closeQuietly(checker))
  const probe = await checker.createChannel()
  probe.on('error', () => {})
  await t.rejects(probe.checkQueue(queue), { code: 404 }, 'the queue is gone')
})

t.test('setMemoryAlarm() blocks and unblocks publishing connections', async (t) => {
  const connection = await open(node.url)
  t.teardown(() => closeQuietly(connection))
  let alarmOn = false
  t.teardown(() => (alarmOn ? node.setMemoryAlarm(false) : undefined))
  const channel = await connection.createChannel()
  const blocked = waitFor(connection, 'blocked', 60_000)
  await node.setMemoryAlarm(true)
  alarmOn = true
  channel.sendToQueue(randomName('tb-nowhere'), Buffer.from('x')) // RabbitMQ blocks a connection when it publishes
  const [reason] = await blocked
  t.match(reason, /memory/)
  const unblocked = waitFor(connection, 'unblocked', 60_000)
  await node.setMemoryAlarm(false)
  alarmOn = false
  await unblocked
  t.pass('unblocked')
})

t.test('closeConnectionsNamed() closes only connections of that name', async (t) => {
  const target = await open(node.url, 'x')
  const bystander = await open(node.url, 'y')
  t.teardown(() => Promise.all([closeQuietly(target), closeQuietly(bystander)]))
  const closed = waitFor(target, 'close', 60_000)
  t.equal(await node.closeConnectionsNamed('x', 'named close'), 1)
  const [error] = await closed
  t.match(String(error), /CONNECTION_FORCED - named close/)
  t.equal(await node.closeConnectionsNamed('x'), 0, 'none left with that name')
  await bystander.createChannel()
  t.pass('the other connection still works')
})

t.test('listConsumers() and closeAllConnections()', async (t) => {
  const queue = randomName('tb-consumed')
  const connection = await open(node.url)
  t.teardown(() => closeQuietly(connection))
  const channel = await connection.createChannel()
  await channel.assertQueue(queue, { exclusive: true })
  await channel.consume(queue, () => {}, { consumerTag: 'tb-tag' })
  t.same(await node.listConsumers(), [{ queue, consumerTag: 'tb-tag' }])
  const closed = waitFor(connection, 'close', 60_000)
  await node.closeAllConnections('all gone')
  const [error] = await closed
  t.match(String(error), /CONNECTION_FORCED - all gone/)
})

t.test('kill() drops the node at once; start() brings it back on the same port', async (t) => {
  const port = node.port
  const connection = await open(node.url)
  t.teardown(() => closeQuietly(connection))
  const closed = waitFor(connection, 'close', 60_000)
  await node.kill()
  const [error] = await closed
  t.type(error, Error, 'the connection closed with an error')
  t.same(processesMentioning(node.dataDir), [], 'no process of the node is left')
  await t.rejects(amqp.connect(node.url), 'nothing listens any more')

  await node.start()
  t.equal(node.port, port)
  const again = await open(node.url)
  await again.createChannel()
  await again.close()
})

t.test('dispose() removes the node and its directory, and is idempotent', async (t) => {
  const { dataDir } = node
  await node.dispose()
  t.notOk(existsSync(dataDir), 'data dir removed')
  t.same(processesMentioning(dataDir), [], 'no process of the node is left')
  await node.dispose()
  await t.rejects(node.start(), /disposed/)
})
