import { randomUUID } from 'node:crypto'
import { onlyOnPrimaryLeg, startBroker, startFaultProxy } from '@fastify-amqp/test-broker'
import t from 'tap'
import {
  buildApp,
  captureLogs,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('5,000 messages, 3 connection cuts while handlers run: none lost, no stale acks, resumes', async (t) => {
  const queue = uniqueName('cuts')
  const total = 5_000
  const broker = await openBroker(t)
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port) })
  t.teardown(() => proxy.close())
  const handledIds = new Map<string, number>()
  let handledCount = 0
  let abortedSeen = 0
  const { capture, logger } = captureLogs('info')
  const app = await buildApp(t, {
    logger,
    connection: { url: proxy.url(SHARED_URL), heartbeat: 5, reconnect: { initialDelay: 50, maxDelay: 500 } },
    declare: (app) => {
      app.consume(queue, { prefetch: 50, retry: false }, async (message) => {
        await sleep(8)
        if (message.signal.aborted) abortedSeen += 1
        const id = String(message.messageId)
        handledIds.set(id, (handledIds.get(id) ?? 0) + 1)
        handledCount += 1
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue)
  })

  const ids: string[] = []
  for (let i = 0; i < total; i += 1) {
    const id = randomUUID()
    ids.push(id)
    broker.channel.sendToQueue(queue, Buffer.from(JSON.stringify({ i })), {
      contentType: 'application/json',
      persistent: true,
      messageId: id,
    })
  }
  await broker.channel.waitForConfirms()

  const consume = app.amqp.connection('consume')
  for (const at of [1_000, 2_200, 3_400]) {
    await until(() => handledCount >= at, 60_000, `${at} handled`)
    await until(() => (app.consumers[0]?.inFlight ?? 0) >= 10, 10_000, 'handlers running at the cut')
    const reconnected = new Promise<void>((resolve) =>
      consume.once('connected', () => {
        resolve()
      })
    )
    proxy.cut()
    await reconnected
  }
  await until(() => ids.every((id) => handledIds.has(id)), 60_000, 'every message handled')

  const duplicates = [...handledIds.values()].reduce((sum, n) => sum + n - 1, 0)
  t.comment(`handled ${handledCount} deliveries for ${total} messages: ${duplicates} duplicates after 3 cuts`)
  t.comment(`handlers that saw signal.aborted: ${abortedSeen}`)
  t.equal(handledIds.size, total, 'every messageId handled at least once')
  t.ok(app.amqp.health().connections.consume.reconnects >= 3, 'the consume connection came back by itself each time')
  t.ok(abortedSeen >= 1, 'handlers whose channel died saw their signal aborted')
  t.notMatch(capture.text(), /unknown delivery tag/i, 'no stale ack reached a new channel')
  t.notMatch(capture.text(), /PRECONDITION_FAILED/)
  await app.close()
  t.equal(await settledCount(queue), 0, 'nothing left behind')
})

t.test(
  'a disposable node restarted (data kept) while consuming: consumption resumes',
  { skip: onlyOnPrimaryLeg("resuming after a restart is the consumer's logic; the 3.10 fault profile kills a node") },
  async (t) => {
    const node = await startBroker()
    t.teardown(() => node.dispose())
    const queue = uniqueName('restart')
    const handled = new Set<string>()
    const app = await buildApp(t, {
      connection: { url: node.url, reconnect: { initialDelay: 100, maxDelay: 1_000 } },
      declare: (app) => {
        app.consume(queue, { prefetch: 10, retry: false }, async (message) => {
          await sleep(10)
          handled.add(String(message.messageId))
        })
      },
    })
    const before = await openBroker(t, node.url)
    for (let i = 0; i < 300; i += 1) await before.send(queue, { i }, { messageId: `before-${i}` })
    await until(() => handled.size >= 50, 20_000, 'consumption under way')
    await before.close()

    await node.restart({ keepData: true })
    await until(() => app.amqp.status === 'connected', 30_000, 'the app reconnected')
    const after = await openBroker(t, node.url)
    for (let i = 0; i < 20; i += 1) await after.send(queue, { i }, { messageId: `after-${i}` })
    await until(() => handled.size === 320, 30_000, 'every message, from before and after the restart')
    t.equal(handled.size, 320, 'persistent messages survived the restart and all were handled')
    await app.close()
    t.equal(await settledCount(queue, { ctl: (...args) => node.rabbitmqctl(...args) }), 0)
  }
)
