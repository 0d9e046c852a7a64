import t from 'tap'
import {
  buildApp,
  captureLogs,
  deleteConsumerQueues,
  openBroker,
  queueArguments,
  SHARED_URL,
  settledCount,
  uniqueName,
  until,
} from './fixtures/helpers.js'

t.test(
  'DLQ and delay queue deleted while poison and good messages flow (concurrency 1): both made again',
  async (t) => {
    const queue = uniqueName('side-deleted')
    const dlq = `${queue}.dlq`
    const delay = `${queue}.delay.100`
    const broker = await openBroker(t)
    const handled: string[] = []
    const tries = new Map<string, number>()
    const { capture, logger } = captureLogs('warn')
    const app = await buildApp(t, {
      logger,
      declare: (app) => {
        app.consume(queue, { concurrency: 1, retry: { attempts: 2, delay: 100 } }, async (message) => {
          const id = String(message.messageId)
          tries.set(id, (tries.get(id) ?? 0) + 1)
          if (id.startsWith('flaky') && message.attempt === 1) throw new Error('first try fails')
          handled.push(id)
        })
      },
    })
    t.teardown(async () => {
      await app.close()
      await deleteConsumerQueues(SHARED_URL, queue, [100])
    })
    const declaredDelay = await queueArguments(delay)
    const declaredDlq = await queueArguments(dlq)
    // An operator purging by deleting, while the app runs.
    await broker.deleteQueues(dlq, delay)

    const json = { contentType: 'application/json' }
    const sent: string[] = []
    for (let round = 0; round < 3; round += 1) {
      await broker.send(queue, Buffer.from('{"not": json'), { ...json, messageId: `poison-${round}` })
      await broker.send(queue, { round }, { messageId: `flaky-${round}` })
      await broker.send(queue, { round }, { messageId: `good-${round}` })
      sent.push(`flaky-${round}`, `good-${round}`)
    }
    await until(() => sent.every((id) => handled.includes(id)), 20_000, 'every good and flaky message handled')
    t.same(handled.filter((id) => id.startsWith('good')).sort(), ['good-0', 'good-1', 'good-2'], 'the good ones')
    for (let round = 0; round < 3; round += 1) {
      t.equal(tries.get(`flaky-${round}`), 2, `flaky-${round}: retried once, through the delay queue made again`)
    }
    t.notOk(
      [...tries.keys()].some((id) => id.startsWith('poison')),
      'poison never reached the handler'
    )

    await app.close()
    t.equal(await settledCount(queue), 0, 'nothing left in the main queue')
    t.equal(await settledCount(dlq), 3, 'three dead letters in the DLQ made again: one per poison message')
    const dead = await broker.drainQueue(dlq)
    t.equal(dead.length, 3, 'counted, not deduplicated')
    t.same(dead.map((letter) => letter.properties.messageId).sort(), ['poison-0', 'poison-1', 'poison-2'])
    for (const letter of dead) t.equal(letter.properties.headers?.['x-death-reason'], 'invalid-json')
    t.equal(await settledCount(delay), 0, 'the delay queue made again passed the retries on')
    t.same(await queueArguments(delay), declaredDelay, 'the delay queue made again with the arguments of setup')
    t.same(await queueArguments(dlq), declaredDlq, 'and the DLQ')
    const redeclared = capture.lines.filter(
      (line) => line.msg === 'amqp consumer: side queue declared again (it was deleted)'
    )
    t.ok(redeclared.some((line) => line.sideQueue === dlq) && redeclared.some((line) => line.sideQueue === delay))
    t.notOk(
      capture.lines.some(
        (line) => line.msg === 'amqp consumer: republish failed, holding the original and trying again'
      ),
      'sent again at once: no backoff'
    )
  }
)
