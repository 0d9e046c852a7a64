import { setTimeout as delay } from 'node:timers/promises'
import { type BrokerCluster, onlyOnPrimaryLeg, startCluster } from '@fastify-amqp/test-broker'
import t from 'tap'
import type { Channel, ConfirmChannel, ManagedChannel } from '../src/index.js'
import { buildApp, captureLogs, uniqueName, until } from './fixtures/helpers.js'

// Failing over between nodes is the plugin's own logic; the 3.10 leg tests its reconnects on one node.
const skip = onlyOnPrimaryLeg("moving to another node is the plugin's logic, the same on both versions")

// One disposable 3-node cluster (30-60s to form): quorum queues keep a majority with one node stopped.
let cluster!: BrokerCluster // not started on a leg that skips this file
if (!skip) {
  cluster = await startCluster()
  t.teardown(() => cluster.dispose())
}

const QUORUM = { durable: true, arguments: { 'x-queue-type': 'quorum' } }

function portOf(url: string | null): number | undefined {
  return url === null ? undefined : Number(new URL(url).port)
}

t.test('stopping the node the app is connected to: it moves to another node and loses nothing', { skip }, async (t) => {
  const queue = uniqueName('cluster-qq')
  const connectionName = uniqueName('cluster-app')
  const { capture, logger } = captureLogs()
  const app = await buildApp(
    t,
    { url: cluster.urls, connectionName, reconnect: { initialDelay: 50, maxDelay: 1_000 } },
    { logger, pluginTimeout: 30_000 }
  )
  // Counters, read by the failure report below
  const deliveries = new Map<string, number>()
  const confirmed = new Set<string>()
  const inFlight = new Set<string>()
  const resend: string[] = []
  let cancels = 0
  let next = 0
  let sent = 0
  let failed = 0
  let loopError: Error | undefined // set if the publish loop below dies

  // A failed wait carries the plugin's own account of what happened, the counters and the broker's view.
  const explained = <T>(promise: Promise<T>): Promise<T> =>
    promise.catch(async (error: Error) => {
      const log = capture.lines.filter((line) => /"level":(40|50)|amqp connected|"channel":/.test(line)).join('')
      const counters =
        `sent ${sent}, failed ${failed}, in flight ${inFlight.size}, to resend ${resend.length}, confirmed ${confirmed.size}, ` +
        `consumed ${deliveries.size}, cancels ${cancels}; publisher channel ${publisher?.channel ? 'open' : 'none'}, ` +
        `consumer channel ${consumer.channel ? 'open' : 'none'}; publish loop ${loopError?.message ?? 'running or done'}`
      const running = cluster.nodes.find((node) => node.isRunning)
      const broker = running
        ? await Promise.all([
            running.rabbitmqctl('-q', 'list_queues', 'name', 'type', 'leader', 'members', 'online', 'messages'),
            running.rabbitmqctl('-q', 'list_channels', 'name', 'confirm', 'messages_unconfirmed', 'consumer_count'),
          ]).then(
            (out) => out.join('\n'),
            (err: Error) => err.message
          )
        : '(no node running)'
      throw new Error(
        `${error.message}\n${counters}\n--- broker ---\n${broker}\n--- plugin warnings, errors, connects and channel events ---\n${log}`
      )
    })

  let publisher: ManagedChannel<ConfirmChannel> | undefined
  // --- consumer: counts deliveries per messageId, acks each
  const consumer = app.amqp.channel({
    name: 'cluster-consumer',
    prefetch: 100,
    setup: async (channel: Channel) => {
      await channel.assertQueue(queue, QUORUM)
      await channel.consume(queue, (message) => {
        if (message === null) {
          cancels += 1 // basic.cancel from the broker: nothing re-subscribes, so this would show as lost
          return
        }
        const id = String(message.properties.messageId)
        deliveries.set(id, (deliveries.get(id) ?? 0) + 1)
        try {
          channel.ack(message)
        } catch {
          // the channel died since the delivery: the broker redelivers it (a duplicate, counted)
        }
      })
    },
  })
  await explained(consumer.waitForOpen(AbortSignal.timeout(30_000)))

  // --- publisher: a persistent message every few ms; a nack or a lost confirm means resend the same messageId
  publisher = app.amqp.channel({
    confirm: true,
    name: 'cluster-publisher',
    setup: async (channel: ConfirmChannel) => {
      await channel.assertQueue(queue, QUORUM)
    },
  })
  await explained(publisher.waitForOpen(AbortSignal.timeout(30_000)))
  let publishing = true
  const stop = new AbortController() // teardown: end the loop at once, whatever is outstanding
  const fail = (id: string) => {
    inFlight.delete(id)
    failed += 1
    resend.push(id)
  }
  // RabbitMQ 3.10's quorum-queue client can get stuck on a channel that first published while the old leader's
  // node was going down: it nacks every later publish on that channel, at once and for good. A fresh channel
  // recovers, so on a nack we close the amqplib channel and the managed channel opens a new one.
  const recycled = new WeakSet<ConfirmChannel>()
  let recycles = 0
  let nacks = 0
  const recycleAfterNack = (channel: ConfirmChannel) => {
    nacks += 1
    if (recycled.has(channel)) return
    recycled.add(channel)
    recycles += 1
    channel.close().catch(() => {})
  }
  const publishLoop = (async () => {
    while (!stop.signal.aborted && (publishing || resend.length > 0 || inFlight.size > 0)) {
      if (!publishing && resend.length === 0) {
        await delay(5) // only confirms outstanding: a failed one comes back through resend
        continue
      }
      const channel =
        publisher.channel ?? (await publisher.waitForOpen(AbortSignal.any([stop.signal, AbortSignal.timeout(60_000)])))
      const id = resend.shift() ?? `m-${next++}`
      inFlight.add(id)
      sent += 1
      try {
        channel.publish('', queue, Buffer.from(id), { persistent: true, messageId: id }, (err) => {
          if (err) {
            if (err.message === 'message nacked') recycleAfterNack(channel)
            return fail(id)
          }
          inFlight.delete(id)
          confirmed.add(id)
        })
      } catch {
        fail(id) // the channel closed under us
      }
      await delay(5)
    }
  })()
  publishLoop.catch((error: Error) => {
    loopError = error
  })
  t.teardown(() => {
    stop.abort()
    return publishLoop.catch(() => {})
  })

  // --- where are we? Both connections start on the first URL.
  await explained(until(() => confirmed.size >= 100, 30_000, '100 confirms before the stop'))
  const [publishNode, consumeNode] = await Promise.all([
    cluster.nodeOf(`${connectionName}:publish`),
    cluster.nodeOf(`${connectionName}:consume`),
  ])
  t.equal(publishNode, 0, 'the publish connection is on node 0 (the first URL)')
  t.equal(consumeNode, 0, 'the consume connection is on node 0 (the first URL)')
  const victim = publishNode ?? 0
  const victimPort = cluster.nodes[victim]?.port

  // --- stop that node while traffic flows
  const moved = { publish: 0, consume: 0 }
  let downAt = 0
  app.amqp.on('disconnected', () => {
    downAt ||= Date.now()
  })
  app.amqp.on('connected', (info) => {
    if (portOf(info.url) !== victimPort) moved[info.role] = Date.now()
  })
  const confirmedBeforeStop = confirmed.size
  await cluster.stopNode(victim)
  await explained(
    until(
      () => app.amqp.status === 'connected' && moved.publish > 0 && moved.consume > 0,
      60_000,
      'both connections up on another node'
    )
  )
  const recoveryMs = Math.max(moved.publish, moved.consume) - downAt
  const health = app.amqp.health()
  t.equal(health.status, 'connected')
  t.not(portOf(health.connections.publish.url), victimPort, `publish moved off node ${victim}`)
  t.not(portOf(health.connections.consume.url), victimPort, `consume moved off node ${victim}`)
  t.ok(health.reconnects >= 2, 'both connections reconnected')

  // --- traffic keeps flowing through the new node
  const confirmedAtRecovery = confirmed.size
  await explained(until(() => confirmed.size >= confirmedAtRecovery + 200, 60_000, '200 more confirms after the move'))
  const [publishNow, consumeNow] = await Promise.all([
    cluster.nodeOf(`${connectionName}:publish`),
    cluster.nodeOf(`${connectionName}:consume`),
  ])
  t.not(publishNow, victim, `the broker sees the publish connection on node ${publishNow}`)
  t.not(consumeNow, victim, `the broker sees the consume connection on node ${consumeNow}`)
  t.not(publishNow, undefined)
  t.not(consumeNow, undefined)

  // --- drain: every publish settled, every confirmed message consumed
  publishing = false
  await explained(until(() => inFlight.size === 0 && resend.length === 0, 60_000, 'every publish confirmed'))
  await publishLoop
  const missing = () => [...confirmed].filter((id) => !deliveries.has(id))
  // not fatal: the counts below say what is missing
  await until(() => missing().length === 0, 60_000, 'every confirmed message consumed').catch(() => {})

  const lost = missing()
  const delivered = [...deliveries.values()].reduce((sum, count) => sum + count, 0)
  t.comment(
    `published ${sent} (${next} distinct ids, ${failed} failed and resent, ${nacks} nacks, ${recycles} channels ` +
      `recycled after a nack), confirmed ${confirmed.size} ` +
      `(${confirmedBeforeStop} before the stop, ${confirmed.size - confirmedAtRecovery} after the move), ` +
      `consumed ${deliveries.size} distinct in ${delivered} deliveries (duplicates ${delivered - deliveries.size}), ` +
      `lost ${lost.length}, consumer cancels ${cancels}; recovered in ${recoveryMs} ms ` +
      `(publish -> ${health.connections.publish.url}, consume -> ${health.connections.consume.url})`
  )
  t.equal(lost.length, 0, `lost = 0${lost.length ? `; missing ${lost.slice(0, 10).join(', ')}` : ''}`)
  t.equal(confirmed.size, next, 'every id was confirmed in the end')
  t.equal(cancels, 0, 'the broker never cancelled the consumer')
})
