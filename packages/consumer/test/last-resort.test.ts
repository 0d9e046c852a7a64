import type { PublishOptions } from '@fastify-amqp/publisher'
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

// A thrown value every inspection of which throws: its code, its prototype, its keys, its conversion.
function hostile(): unknown {
  const trap = () => {
    throw new Error('trapped')
  }
  return new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, has: trap, getOwnPropertyDescriptor: trap })
}

type Publish = (exchange: string, routingKey: string, body: unknown, options?: PublishOptions) => unknown

/** Makes app.publisher.publish throw (synchronously, a hostile value) for the routing keys `breaks` picks. */
function breakPublisher(app: { publisher: { publish: Publish } }, breaks: (routingKey: string) => boolean): void {
  const real = app.publisher.publish.bind(app.publisher)
  app.publisher.publish = (exchange, routingKey, body, options) => {
    if (breaks(routingKey)) throw hostile()
    return real(exchange, routingKey, body, options)
  }
}

t.test(
  'the retry publish throws where nothing may throw: the delivery is dead-lettered (consumer-error)',
  async (t) => {
    const queue = uniqueName('last-resort')
    const broker = await openBroker(t)
    const handled: string[] = []
    const { capture, logger } = captureLogs('warn')
    const app = await buildApp(t, {
      logger,
      publisher: true,
      declare: (app) => {
        breakPublisher(app as never, (key) => key === `${queue}.delay.100`)
        app.consume(queue, { concurrency: 1, retry: { attempts: 3, delay: 100 } }, async (message) => {
          if (message.messageId === 'bad') throw new Error('handler failed')
          handled.push(String(message.messageId))
        })
      },
    })
    t.teardown(async () => {
      await app.close()
      await deleteConsumerQueues(SHARED_URL, queue, [100])
    })
    await broker.send(queue, { n: 1 }, { messageId: 'bad' })
    await broker.send(queue, { n: 2 }, { messageId: 'next' })
    await until(() => handled.includes('next'), 10_000, 'the next message handled')
    await app.close()
    t.equal(await settledCount(queue), 0, 'the failed delivery was settled, not left unacked')
    const dead = await broker.drainQueue(`${queue}.dlq`)
    t.equal(dead.length, 1)
    t.equal(dead[0]?.properties.messageId, 'bad')
    t.equal(dead[0]?.properties.headers?.['x-death-reason'], 'consumer-error')
    t.equal(dead[0]?.properties.headers?.['x-error-message'], 'thrown value of type object')
    const line = capture.find(
      (line) =>
        line.msg === 'amqp consumer: unexpected error while handling a message; dead-lettering it (consumer-error)'
    )
    t.match(line, { messageId: 'bad', err: 'thrown value of type object' }, 'logged, described')
  }
)

t.test('the dead-letter publish throws too: the delivery is rejected, and the queue DLX takes it', async (t) => {
  const queue = uniqueName('last-resort-reject')
  const parked = `${queue}.parked`
  const broker = await openBroker(t)
  await broker.channel.assertQueue(parked, { durable: true })
  const handled: string[] = []
  const { capture, logger } = captureLogs('warn')
  const app = await buildApp(t, {
    logger,
    publisher: true,
    declare: (app) => {
      breakPublisher(app as never, (key) => key.startsWith(`${queue}.`))
      app.consume(
        queue,
        {
          concurrency: 1,
          retry: { attempts: 2, delay: 100 },
          queueOptions: { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': parked } },
        },
        async (message) => {
          if (message.messageId === 'bad') throw new Error('handler failed')
          handled.push(String(message.messageId))
        }
      )
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [100])
    await broker.deleteQueues(parked)
  })
  await broker.send(queue, { n: 1 }, { messageId: 'bad' })
  await broker.send(queue, { n: 2 }, { messageId: 'next' })
  await until(() => handled.includes('next'), 10_000, 'the next message handled')
  await app.close()
  t.equal(await settledCount(queue), 0, 'settled')
  t.equal(await settledCount(`${queue}.dlq`), 0, 'the DLQ publish never went out')
  const rejected = await broker.drainQueue(parked)
  t.equal(rejected.length, 1, "in the queue's own dead-letter queue")
  t.equal(rejected[0]?.properties.messageId, 'bad')
  const death = (rejected[0]?.properties.headers?.['x-death'] as Array<{ reason?: string }> | undefined)?.[0]
  t.equal(death?.reason, 'rejected', 'by basic.reject')
  t.ok(capture.find((line) => line.msg === 'amqp consumer: dead-lettering it failed too'))
  t.ok(capture.find((line) => String(line.msg).startsWith('amqp consumer: message rejected without requeue')))
})
