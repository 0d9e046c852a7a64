import { createServer } from 'node:net'
import t from 'tap'
import {
  closeSharedConnectionsNamed,
  freePort,
  listSharedConsumers,
  SHARED_NODE_NAME,
  sharedRabbitmqctl,
} from '../src/index.js'
import { closeQuietly, open, randomName, SHARED_URL, waitFor } from './fixtures/amqp.js'

// Against the shared broker: only this file's own, uniquely named connections and queues are touched.

t.test('freePort() returns a port that can be listened on', async (t) => {
  const port = await freePort()
  t.ok(port > 1024 && port < 65536, `port ${port}`)
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  await new Promise((resolve) => server.close(resolve))
})

t.test('sharedRabbitmqctl() talks to the shared node', async (t) => {
  t.equal((await sharedRabbitmqctl('-q', 'eval', 'node().')).trim().replace(/'/g, ''), SHARED_NODE_NAME)
  await t.rejects(sharedRabbitmqctl('no_such_command'), /no_such_command failed \(exit code 64\)/)
})

t.test('listSharedConsumers() and closeSharedConnectionsNamed()', async (t) => {
  const name = randomName('tb-shared')
  const queue = randomName('tb-shared-q')
  const target = await open(SHARED_URL, name)
  const bystander = await open(SHARED_URL, `${name}-bystander`)
  t.teardown(() => Promise.all([closeQuietly(target), closeQuietly(bystander)]))
  const channel = await target.createChannel()
  await channel.assertQueue(queue, { exclusive: true, autoDelete: true })
  await channel.consume(queue, () => {}, { consumerTag: `${queue}-tag` })

  t.same(await listSharedConsumers(queue), [{ queue, consumerTag: `${queue}-tag` }])

  const closed = waitFor(target, 'close', 60_000) // rabbitmqctl is slow on a loaded machine
  t.equal(await closeSharedConnectionsNamed(name, 'test-broker shared test'), 1)
  const [error] = await closed
  t.match(String(error), /CONNECTION_FORCED - test-broker shared test/)
  t.equal(await closeSharedConnectionsNamed(name), 0, 'nothing left with that name')
  await bystander.createChannel() // a similarly named connection is untouched
  await t.rejects(closeSharedConnectionsNamed(''), /non-empty/)
})
