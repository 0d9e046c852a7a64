import { type BrokerNode, onlyOnPrimaryLeg, startBroker } from '@fastify-amqp/test-broker'
import t from 'tap'
import { buildApp, once, rawChannel, settledNow, tempQueue, uniqueName } from './fixtures/helpers.js'

// Blocked publishing is the publisher's logic; on 3.10 the fault profile's alarm scenario alarms a node.
const skip = onlyOnPrimaryLeg(
  "blocked publishing is the publisher's logic; the 3.10 fault profile runs its alarm scenario"
)

// One disposable node for the file: the memory alarm must never touch the shared broker.
let node: BrokerNode
t.before(async () => {
  if (!skip) node = await startBroker()
})
t.teardown(() => node?.dispose())

t.test('memory alarm: publishes stay pending while blocked and resolve when it clears', { skip }, async (t) => {
  const { channel } = await rawChannel(t, node.url)
  const queue = await tempQueue(t, channel, 'alarm', node.url)
  const app = await buildApp(t, { connection: { url: node.url }, publisher: { confirmTimeout: 60_000 } })
  t.teardown(() => node.setMemoryAlarm(false))

  await node.setMemoryAlarm(true)
  const blocked = once(app.amqp, 'blocked')
  const publish = app.publisher.publish('', queue, { during: 'alarm' })
  await blocked
  t.equal(app.amqp.status, 'blocked')
  t.notOk(await settledNow(publish), 'no confirm while the broker blocks publishers')
  t.equal(app.publisher.pending, 1)
  t.equal((await channel.checkQueue(queue)).messageCount, 0, 'not stored yet')

  const unblocked = once(app.amqp, 'unblocked')
  await node.setMemoryAlarm(false)
  await unblocked
  const receipt = await publish
  t.type(receipt.messageId, 'string', 'resolved once the alarm cleared')
  t.equal((await channel.checkQueue(queue)).messageCount, 1)
})

t.test(
  'memory alarm: a publish fails with FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT after its timeout; the route answers 503',
  { skip },
  async (t) => {
    const { channel } = await rawChannel(t, node.url)
    const queue = await tempQueue(t, channel, 'alarm503', node.url)
    const app = await buildApp(t, {
      connection: { url: node.url, connectionName: uniqueName('alarm503') },
      publisher: { confirmTimeout: 400, closeTimeout: 200, retryAfter: 7 },
      setup(app) {
        app.post('/orders', async (request, reply) => {
          await reply.publish('', queue, request.body)
          return reply.code(202).send({ ok: true })
        })
      },
    })
    t.teardown(() => node.setMemoryAlarm(false))

    await node.setMemoryAlarm(true)
    const blocked = once(app.amqp, 'blocked')
    const direct = app.publisher.publish('', queue, { n: 1 })
    await blocked
    await t.rejects(direct, { code: 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT', statusCode: 503 })

    const response = await app.inject({ method: 'POST', url: '/orders', payload: { n: 2 } })
    t.equal(response.statusCode, 503, 'an unhandled publish failure is a 503, not a 500')
    t.equal(response.headers['retry-after'], '7')
    t.equal(response.json().code, 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT')
  }
)
