import t from 'tap'
import { describeError } from '../src/describe-error.js'
import {
  buildApp,
  captureLogs,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  uniqueName,
  until,
} from './fixtures/helpers.js'

const trap = () => {
  throw new Error('trap')
}
const hostile = () =>
  new Proxy({}, { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap })
const unreadable = () => {
  const err = new Error('hidden')
  Object.defineProperty(err, 'message', { get: trap })
  return err
}
const circular = () => {
  const value: Record<string, unknown> = { code: 'E_LOOP' }
  value.self = value
  return value
}

// What each kind of message makes the handler throw, and the x-error-message it must get.
const ODD: Array<[string, () => unknown, string | RegExp]> = [
  ['null-prototype', () => Object.create(null), '[object Object]'],
  ['proxy', hostile, 'thrown value of type object'],
  ['undefined', () => undefined, 'undefined'],
  ['symbol', () => Symbol('odd'), 'Symbol(odd)'],
  ['unreadable-message', unreadable, 'Error (its message could not be read)'],
  ['circular', circular, '[object Object]'],
  ['throwing-tostring', () => ({ toString: trap }), '[object Object]'],
]

t.test('any thrown value is retried and dead-lettered with a readable x-error-message', async (t) => {
  const queue = uniqueName('thrown')
  const broker = await openBroker(t)
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => process.off('unhandledRejection', onUnhandled))
  const runs = new Map<string, number>()
  let good = 0
  // Logging on, as in production: the log calls on the failure path must not trip over the value either.
  const { logger } = captureLogs('info')
  const app = await buildApp(t, {
    logger,
    declare: (app) => {
      app.consume(queue, { retry: { attempts: 2, delay: 50 }, concurrency: 1 }, async (message) => {
        const { kind } = message.body as { kind: string }
        if (kind === 'good') {
          good += 1
          return
        }
        runs.set(kind, (runs.get(kind) ?? 0) + 1)
        throw ODD.find(([name]) => name === kind)?.[1]()
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [50])
  })
  for (const [kind] of ODD) await broker.send(queue, { kind }, { messageId: kind })
  await broker.send(queue, { kind: 'good' }, { messageId: 'good' })
  await until(async () => (await broker.count(`${queue}.dlq`)) === ODD.length, 20_000, 'every odd value dead-lettered')
  await until(() => good === 1, 10_000, 'the good message behind them')
  const dead = await broker.drainQueue(`${queue}.dlq`)
  t.equal(dead.length, ODD.length, 'one dead letter each')
  for (const [kind, , text] of ODD) {
    t.equal(runs.get(kind), 2, `${kind}: both tries ran`)
    const letter = dead.find((d) => d.properties.messageId === kind)
    t.match(letter?.properties.headers, { 'x-death-reason': 'handler-error', 'x-attempts': 2 }, kind)
    const message = (letter?.properties.headers as Record<string, unknown> | undefined)?.['x-error-message']
    if (typeof text === 'string') t.equal(message, text, `${kind}: x-error-message`)
    else t.match(message, text, `${kind}: x-error-message`)
  }
  t.same(unhandled, [], 'no unhandled rejection')
  t.equal(app.consumers[0]?.inFlight, 0, 'no slot held')
})

t.test('describeError never throws and stays short', async (t) => {
  t.equal(describeError(new Error('boom')), 'boom')
  t.equal(describeError(new TypeError('')), 'TypeError', 'an empty message: the name')
  t.equal(describeError('plain text'), 'plain text')
  t.equal(describeError(42), '42')
  t.equal(describeError(null), 'null')
  t.equal(describeError(undefined), 'undefined')
  t.equal(describeError(10n), '10')
  t.equal(describeError(Symbol()), 'Symbol()')
  t.equal(
    describeError(() => {}),
    'thrown value of type function'
  )
  t.equal(describeError({ message: 'error-like' }), 'error-like')
  t.equal(describeError({ toString: () => 'custom' }), 'custom')
  t.equal(describeError({ toString: () => 7 }), '7')
  t.equal(describeError(Object.create(null)), '[object Object]')
  t.equal(describeError([1, [2]]), '1,2')
  t.equal(describeError(hostile()), 'thrown value of type object')
  t.equal(describeError(new Proxy(new Error('x'), { get: trap })), 'thrown value of type object')
  t.equal(describeError(unreadable()), 'Error (its message could not be read)')
  t.equal(describeError(circular()), '[object Object]')
  const named = new Error('')
  Object.defineProperty(named, 'name', { get: trap })
  t.equal(describeError(named), '[object Error]', 'neither message nor name: the tag')
  const long = describeError(new Error('x'.repeat(5_000)))
  t.equal(long.length, 1_001, 'at most 1,000 characters and an ellipsis')
  t.ok(long.endsWith('…'))
})
