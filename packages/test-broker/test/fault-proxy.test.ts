import { type Socket, connect as tcpConnect } from 'node:net'
import amqp from 'amqplib'
import t, { type Test } from 'tap'
import { type FaultProxy, startFaultProxy } from '../src/index.js'
import { closeQuietly, open, randomName, SHARED_URL, sleep, until, waitFor } from './fixtures/amqp.js'

// The proxy forwards to the shared broker; only this file's own connections and exclusive queues are involved.
const shared = new URL(SHARED_URL)
const target = { host: shared.hostname, port: Number(shared.port || 5672) }

async function proxyFor(t: Test): Promise<FaultProxy> {
  const proxy = await startFaultProxy(target)
  t.teardown(() => proxy.close())
  return proxy
}

/** Opens a connection through the proxy and proves it works by declaring an exclusive queue. */
async function openAndDeclare(t: Test, url: string): Promise<amqp.ChannelModel> {
  const connection = await open(url, randomName('tb-proxy'))
  t.teardown(() => closeQuietly(connection))
  const channel = await connection.createChannel()
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true })
  t.match(queue, /^amq\.gen-/, 'declared a server-named exclusive queue through the proxy')
  return connection
}

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: '127.0.0.1' })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

t.test('url() swaps host and port, keeps credentials, vhost and query', async (t) => {
  const proxy = await proxyFor(t)
  t.equal(
    proxy.url('amqp://user:secret@rabbit.example:5673/my-vhost?heartbeat=5&frameMax=8192'),
    `amqp://user:secret@127.0.0.1:${proxy.port}/my-vhost?heartbeat=5&frameMax=8192`
  )
  t.equal(proxy.url('amqp://localhost/%2F'), `amqp://127.0.0.1:${proxy.port}/%2F`)
})

t.test('forwards AMQP traffic', async (t) => {
  const proxy = await proxyFor(t)
  t.not(proxy.port, target.port)
  await openAndDeclare(t, proxy.url(SHARED_URL))
  t.equal(proxy.connections, 1)
})

t.test('cut() destroys open connections but lets new ones in', async (t) => {
  const proxy = await proxyFor(t)
  const connection = await openAndDeclare(t, proxy.url(SHARED_URL))
  const closed = waitFor(connection, 'close', 5000)
  proxy.cut()
  const [error] = await closed
  t.type(error, Error, 'the connection closes with an error')
  t.equal(proxy.connections, 0)
  await openAndDeclare(t, proxy.url(SHARED_URL))
  t.equal(proxy.connections, 1)
})

t.test('blackhole() is only noticed by heartbeats', async (t) => {
  const proxy = await proxyFor(t)
  const url = new URL(proxy.url(SHARED_URL))
  url.searchParams.set('heartbeat', '1')
  const connection = await openAndDeclare(t, url.toString())
  let closedAfter = -1
  const closed = waitFor(connection, 'close', 8000)
  const start = Date.now()
  void closed.then(() => {
    closedAfter = Date.now() - start
  })
  proxy.blackhole()
  await sleep(800)
  t.equal(closedAfter, -1, 'still open 800ms after the blackhole')
  const [error] = await closed
  t.match(String(error), /heartbeat/i, 'closed by a heartbeat timeout')
  t.ok(closedAfter >= 1000 && closedAfter <= 4500, `closed after ${closedAfter}ms (about 2 heartbeats)`)

  // new connections are accepted but nothing reaches the broker, nor comes back
  const socket = await rawConnect(proxy.port)
  t.teardown(() => socket.destroy())
  const received: Buffer[] = []
  socket.on('data', (chunk: Buffer) => received.push(chunk))
  socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'))
  await sleep(500)
  t.same(received, [], 'no connection.start from the broker')
  t.equal(proxy.connections, 1, 'the black-holed socket counts as open')

  // restore() kills black-holed sockets, which could never recover, and forwards again
  const socketClosed = waitFor(socket, 'close', 2000)
  proxy.restore()
  await socketClosed
  t.equal(proxy.connections, 0)
  await openAndDeclare(t, proxy.url(SHARED_URL))
})

t.test('refuse() cuts everything and refuses new connections until restore()', async (t) => {
  const proxy = await proxyFor(t)
  const connection = await openAndDeclare(t, proxy.url(SHARED_URL))
  const closed = waitFor(connection, 'close', 5000)
  proxy.refuse()
  const [error] = await closed
  t.type(error, Error)
  await t.rejects(amqp.connect(proxy.url(SHARED_URL)), 'connecting fails while refusing')
  t.equal(proxy.connections, 0)
  proxy.restore()
  await openAndDeclare(t, proxy.url(SHARED_URL))
  t.equal(proxy.connections, 1)
})

/** A confirm channel through the proxy that counts the acks and nacks reaching the client. */
async function confirmChannel(url: string) {
  const connection = await open(url, randomName('tb-proxy-confirms'))
  const channel = await connection.createConfirmChannel()
  const seen = { acks: 0, nacks: 0, closed: false }
  channel.on('ack', () => {
    seen.acks += 1
  })
  channel.on('nack', () => {
    seen.nacks += 1
  })
  connection.on('close', () => {
    seen.closed = true
  })
  return { connection, channel, seen }
}

t.test(
  'dropConfirms(): the broker takes every message, no confirm reaches the client, the connection stays up',
  async (t) => {
    const proxy = await proxyFor(t)
    const queue = randomName('tb-proxy-confirms')
    // The queue is read through a connection of its own, around the proxy.
    const direct = await open(SHARED_URL, randomName('tb-proxy-direct'))
    const admin = await direct.createChannel()
    await admin.assertQueue(queue, { durable: true })
    const opened: amqp.ChannelModel[] = []
    t.teardown(async () => {
      for (const connection of opened) await closeQuietly(connection)
      await admin.deleteQueue(queue).catch(() => {})
      await closeQuietly(direct)
    })
    const depth = async () => (await admin.checkQueue(queue)).messageCount

    // Opened before the mode is on (it applies to open connections); heartbeat 1 s puts heartbeat frames in the stream.
    const url = new URL(proxy.url(SHARED_URL))
    url.searchParams.set('heartbeat', '1')
    const early = await confirmChannel(url.toString())
    opened.push(early.connection)
    proxy.dropConfirms()
    const late = await confirmChannel(url.toString())
    opened.push(late.connection)

    // One publish at a time, so each is confirmed by exactly one frame of its own (no `multiple`) and the count of
    // dropped frames says when the broker has confirmed them all.
    const N = 20
    for (let i = 1; i <= N; i += 1) {
      const { channel } = i % 2 === 0 ? late : early
      channel.publish('', queue, Buffer.from(`m${i}`), {}, () => {})
      await until(() => proxy.droppedConfirms === i, 10_000, `confirm ${i} dropped`)
    }
    await until(async () => (await depth()) === N, 10_000, `${N} messages in the queue`)
    t.equal(await depth(), N, 'the broker took every message')
    t.equal(proxy.droppedConfirms, N, 'one confirm frame dropped per message')
    t.same(early.seen, { acks: 0, nacks: 0, closed: false }, 'no confirm reached the connection opened before')
    t.same(late.seen, { acks: 0, nacks: 0, closed: false }, 'nor the one opened after dropConfirms()')
    // Both still answer through the proxy.
    t.equal((await early.channel.checkQueue(queue)).messageCount, N)
    t.equal((await late.channel.checkQueue(queue)).messageCount, N)
    t.equal(proxy.connections, 2)

    // restore(): confirms pass again, on open connections and new ones.
    proxy.restore()
    const fresh = await confirmChannel(url.toString())
    opened.push(fresh.connection)
    fresh.channel.publish('', queue, Buffer.from('after restore, new connection'), {}, () => {})
    await until(() => fresh.seen.acks === 1, 10_000, 'the confirm of a connection opened after restore()')
    early.channel.publish('', queue, Buffer.from('after restore, open connection'), {}, () => {})
    await until(() => early.seen.acks === 1, 10_000, 'the confirm of a connection open since before dropConfirms()')
    t.pass('confirms pass again, to new and open connections')
    t.equal(proxy.droppedConfirms, N, 'nothing more dropped')
    t.notOk(early.seen.closed || late.seen.closed || fresh.seen.closed, 'every connection still open')
  }
)

t.test('close() stops listening', async (t) => {
  const proxy = await startFaultProxy(target)
  const connection = await openAndDeclare(t, proxy.url(SHARED_URL))
  const closed = waitFor(connection, 'close', 5000)
  await proxy.close()
  await closed
  t.equal(proxy.connections, 0)
  await t.rejects(rawConnect(proxy.port), { code: 'ECONNREFUSED' })
})
