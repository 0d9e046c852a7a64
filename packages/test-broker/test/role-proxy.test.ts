import amqp from 'amqplib'
import t, { type Test } from 'tap'
import { type RoleProxy, startRoleProxy } from '../src/index.js'
import { closeQuietly, open, randomName, SHARED_URL, until, waitFor } from './fixtures/amqp.js'

// Connections named as the connection plugin names its two (`<name>:publish`, `<name>:consume`), through the proxy.
const shared = new URL(SHARED_URL)

async function proxyFor(t: Test): Promise<RoleProxy> {
  const proxy = await startRoleProxy({ host: shared.hostname, port: Number(shared.port || 5672) })
  t.teardown(() => proxy.close())
  return proxy
}

async function openRole(t: Test, proxy: RoleProxy, name: string, role: 'publish' | 'consume') {
  const connection = await open(proxy.url(SHARED_URL), `${name}:${role}`)
  t.teardown(() => closeQuietly(connection))
  return connection
}

t.test('refuse(role) cuts that role, now and on every reconnect; the other role carries on', async (t) => {
  const proxy = await proxyFor(t)
  const name = randomName('tb-role')
  const publish = await openRole(t, proxy, name, 'publish')
  const consume = await openRole(t, proxy, name, 'consume')
  const closed = waitFor(publish, 'close', 5_000)
  proxy.refuse('publish')
  await closed
  await t.rejects(open(proxy.url(SHARED_URL), `${name}:publish`), 'a new publish connection is refused')
  const channel = await consume.createChannel()
  t.match((await channel.assertQueue('', { exclusive: true })).queue, /^amq\.gen-/, 'consume still works')
  proxy.restore()
  const again = await openRole(t, proxy, name, 'publish')
  t.ok(await again.createChannel(), 'after restore() the publish role connects again')
})

t.test('hold(role) keeps its bytes, drops none: delivered in order at restore()', async (t) => {
  const proxy = await proxyFor(t)
  const name = randomName('tb-role')
  const consume = await openRole(t, proxy, name, 'consume')
  const sender = await amqp.connect(SHARED_URL)
  t.teardown(() => closeQuietly(sender))
  const queue = randomName('tb-role-held')
  const channel = await consume.createChannel()
  // Durable: 4.x denies transient non-exclusive queues; not exclusive, so the sender can read its depth.
  await channel.assertQueue(queue, { durable: true })
  t.teardown(async () => {
    const cleanup = await sender.createChannel()
    await cleanup.deleteQueue(queue)
  })
  const seen: number[] = []
  await channel.consume(queue, (m) => m && seen.push(Number(m.content.toString())), { noAck: true })
  const send = await sender.createConfirmChannel()

  proxy.hold('consume')
  for (let n = 1; n <= 5; n += 1) send.sendToQueue(queue, Buffer.from(String(n)))
  await send.waitForConfirms()
  // No ready message left: the broker has sent all five to its (no-ack) consumer, and the proxy holds them.
  await until(async () => (await send.checkQueue(queue)).messageCount === 0, 5_000, 'all five dispatched')
  t.same(seen, [], 'nothing reached the held connection')
  proxy.restore()
  await until(() => seen.length === 5, 5_000, 'the held deliveries')
  t.same(seen, [1, 2, 3, 4, 5], 'all of them, in order')
})
