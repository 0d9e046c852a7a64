import t from 'tap'
import {
  brokerDropWarning,
  consumerQueueArguments,
  delayQueueName,
  drainBudget,
  resolveConsumer,
  resolvePluginOptions,
  retryDelay,
  startBudget,
} from '../src/options.js'
import type { ConsumeOptions } from '../src/types.js'

const handler = async () => {}
const plugin = resolvePluginOptions()

function declare(options: Partial<ConsumeOptions>) {
  return resolveConsumer({ queue: 'q', handler, ...options } as ConsumeOptions, plugin)
}

t.test('plugin defaults', async (t) => {
  t.same(plugin, {
    prefetch: 50,
    concurrency: undefined,
    handlerTimeout: 25 * 60_000,
    drainTimeout: 10_000,
    drainTimeoutSet: false,
    startTimeout: 5_000,
    startTimeoutSet: false,
    maxDeliveries: 10,
    maxBodyBytes: 1024 * 1024,
    deadLetter: true,
    retry: { attempts: 5, delay: { initial: 1_000, factor: 2, max: 60_000 } },
    publisher: {},
    traceContext: 'parent',
  })
})

t.test('a consumer inherits the plugin defaults; concurrency defaults to its prefetch', async (t) => {
  const def = declare({ prefetch: 7 })
  t.equal(def.prefetch, 7)
  t.equal(def.concurrency, 7)
  t.same(def.delays, [1_000, 2_000, 4_000, 8_000], 'attempts 5: four retries, growing')
  t.equal(def.deadLetterQueue, 'q.dlq')
  t.same(def.queueArguments, {}, 'a plain durable classic queue: no arguments')
  t.equal(resolveConsumer({ queue: 'q', handler }, resolvePluginOptions({ concurrency: 3 })).concurrency, 3)
  t.equal(def.handlerTimeout, 25 * 60_000, "handlerTimeout: under the broker's consumer_timeout")
  t.equal(resolveConsumer({ queue: 'q', handler }, resolvePluginOptions({ handlerTimeout: 0 })).handlerTimeout, 0)
  t.equal(declare({ handlerTimeout: 250 }).handlerTimeout, 250)
})

t.test('retry: attempts counts every try; exponential with a cap; fixed; false', async (t) => {
  t.same(declare({ retry: { attempts: 3, delay: 200 } }).delays, [200, 200])
  t.same(
    declare({ retry: { attempts: 6, delay: { initial: 100, factor: 3, max: 1_000 } } }).delays,
    [100, 300, 900, 1_000, 1_000]
  )
  t.same(declare({ retry: { attempts: 1 } }).delays, [])
  t.same(declare({ retry: false }).retry, { attempts: 1, delay: 0 })
  t.same(declare({ retry: { attempts: 2 } }).delays, [1_000], 'delay from the plugin default')
  t.equal(retryDelay({ attempts: 9, delay: { initial: 10, factor: 2, max: 50 } }, 4), 50)
  t.equal(delayQueueName('orders', 400), 'orders.delay.400')
})

t.test('queue options become x-arguments only when asked for', async (t) => {
  t.same(declare({ queueOptions: { type: 'classic' } }).queueArguments, {})
  t.same(
    declare({ queueOptions: { type: 'quorum', deliveryLimit: 5, messageTtl: 1_000, arguments: { 'x-max-length': 9 } } })
      .queueArguments,
    {
      'x-queue-type': 'quorum',
      'x-delivery-limit': 5,
      'x-message-ttl': 1_000,
      'x-max-length': 9,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'q.dlq',
    }
  )
  t.same(
    declare({ queueOptions: { type: 'quorum' } }).queueArguments,
    { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'q.dlq' },
    'a quorum queue always: 4.x gives each a delivery limit'
  )
})

t.test('a queue the broker may drop from dead-letters to its DLQ, unless told otherwise', async (t) => {
  t.same(consumerQueueArguments('orders', { deliveryLimit: 3 }), {
    'x-delivery-limit': 3,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': 'orders.dlq',
  })
  t.equal(
    consumerQueueArguments('orders', { arguments: { 'x-max-length-bytes': 10 } })['x-dead-letter-routing-key'],
    'orders.dlq',
    'x- arguments given as they are count too'
  )
  t.same(consumerQueueArguments('orders', { deliveryLimit: 3 }, false), { 'x-delivery-limit': 3 }, 'no DLQ: no DLX')
  t.same(
    consumerQueueArguments('orders', { deliveryLimit: 3, arguments: { 'x-dead-letter-exchange': 'mine' } }),
    { 'x-delivery-limit': 3, 'x-dead-letter-exchange': 'mine' },
    "the queue's own DLX is kept"
  )
  t.same(declare({ deadLetter: false, queueOptions: { deliveryLimit: 2 } }).queueArguments, { 'x-delivery-limit': 2 })
  t.same(consumerQueueArguments('orders', { type: 'quorum' }, false), { 'x-queue-type': 'quorum' })
})

t.test('a queue the broker may drop from with no DLX is warned about', async (t) => {
  const warning = (queueOptions: ConsumeOptions['queueOptions'], deadLetter = false) =>
    brokerDropWarning(declare({ queueOptions, deadLetter }))
  t.match(warning({ type: 'quorum' }), /"q" has deadLetter: false .* a quorum queue's default delivery limit \(20/)
  t.match(warning({ type: 'quorum', deliveryLimit: 5 }), /drops messages at x-delivery-limit$/)
  t.match(warning({ messageTtl: 10, maxLength: 3 }), /drops messages at x-message-ttl, x-max-length$/)
  t.equal(warning({}), null, 'a plain classic queue drops nothing')
  t.equal(warning({ type: 'quorum' }, true), null, 'dead-lettering to the DLQ')
  t.equal(warning({ type: 'quorum', arguments: { 'x-dead-letter-exchange': 'mine' } }), null, 'its own DLX')
})

t.test('deadLetter: false has no DLQ', async (t) => {
  t.equal(declare({ deadLetter: false }).deadLetterQueue, null)
  t.equal(resolveConsumer({ queue: 'q', handler }, resolvePluginOptions({ deadLetter: false })).deadLetterQueue, null)
})

t.test('maxDeliveries: the plugin default (10), overridden per consumer; 0 = no limit', async (t) => {
  t.equal(declare({}).maxDeliveries, 10)
  t.equal(declare({ maxDeliveries: 3 }).maxDeliveries, 3)
  t.equal(declare({ maxDeliveries: 0 }).maxDeliveries, 0)
  t.equal(resolveConsumer({ queue: 'q', handler }, resolvePluginOptions({ maxDeliveries: 4 })).maxDeliveries, 4)
})

t.test("side queues: one place with each one's arguments; delay queues quorum, at least once", async (t) => {
  const delayQueue = {
    'x-queue-type': 'quorum',
    'x-message-ttl': 200,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': 'q',
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  }
  const classic = declare({ retry: { attempts: 3, delay: 200 } })
  t.same(
    [...classic.sideQueues],
    [
      ['q.delay.200', delayQueue],
      ['q.dlq', {}],
    ],
    'a fixed delay: one delay queue, quorum though the main queue is classic; the DLQ of the main type'
  )
  const quorum = declare({ queueOptions: { type: 'quorum' }, retry: { attempts: 2, delay: 200 } })
  t.same(quorum.sideQueues.get('q.delay.200'), delayQueue)
  t.same(quorum.sideQueues.get('q.dlq'), { 'x-queue-type': 'quorum' })
  t.same([...declare({ deadLetter: false, retry: false }).sideQueues], [], 'no retries, no DLQ: none')
})

t.test("drainBudget: the drain fits within Fastify's pluginTimeout", async (t) => {
  const fit = (options: { drainTimeout?: number }, pluginTimeout: number) =>
    drainBudget(resolvePluginOptions(options), pluginTimeout)
  t.same(fit({}, 10_000), { drainMs: 9_000, warning: null }, 'the default shrinks to fit, silently')
  t.same(fit({ drainTimeout: 5_000 }, 10_000), { drainMs: 5_000, warning: null }, 'a configured one that fits')
  const over = fit({ drainTimeout: 10_000 }, 10_000)
  t.equal(over.drainMs, 9_000, 'pluginTimeout wins')
  t.match(
    over.warning,
    /drainTimeout \(10000 ms\) does not fit in Fastify's pluginTimeout \(10000 ms\).*pluginTimeout wins/
  )
  t.same(fit({ drainTimeout: 60_000 }, 0), { drainMs: 60_000, warning: null }, 'pluginTimeout 0: no Fastify limit')
  t.equal(fit({}, 1_000).drainMs, 900, 'a short pluginTimeout keeps a tenth as margin')
  t.equal(fit({}, 30_000).drainMs, 10_000, 'a long one: the default drainTimeout')
})

t.test("startBudget: ready()'s wait fits within Fastify's pluginTimeout", async (t) => {
  const fit = (options: { startTimeout?: number }, pluginTimeout: number) =>
    startBudget(resolvePluginOptions(options), pluginTimeout)
  t.same(fit({}, 10_000), { startMs: 5_000, warning: null }, 'the default: 5 s')
  t.same(fit({}, 3_000), { startMs: 2_700, warning: null }, 'the default shrinks to fit, silently')
  t.same(fit({ startTimeout: 20_000 }, 30_000), { startMs: 20_000, warning: null }, 'a configured one that fits')
  const over = fit({ startTimeout: 60_000 }, 10_000)
  t.equal(over.startMs, 9_000, 'pluginTimeout wins')
  t.match(
    over.warning,
    /startTimeout \(60000 ms\) does not fit in Fastify's pluginTimeout \(10000 ms\).*ready\(\) waits 9000 ms at most/
  )
  t.same(fit({ startTimeout: 60_000 }, 0), { startMs: 60_000, warning: null }, 'pluginTimeout 0: no Fastify limit')
  t.same(fit({ startTimeout: 0 }, 10_000), { startMs: 0, warning: null }, '0: ready() does not wait')
})

t.test('bindings get a default routing key', async (t) => {
  t.same(declare({ bindings: [{ exchange: 'x' }] }).bindings, [{ exchange: 'x', routingKey: '' }])
})

t.test('invalid options fail with a coded error naming the field', async (t) => {
  const cases: Array<[string, () => unknown]> = [
    ['prefetch', () => resolvePluginOptions({ prefetch: 0 })],
    ['drainTimeout', () => resolvePluginOptions({ drainTimeout: -1 })],
    ['startTimeout', () => resolvePluginOptions({ startTimeout: 1.5 })],
    ['retry.attempts', () => resolvePluginOptions({ retry: { attempts: 0 } })],
    ['retry.delay.initial', () => declare({ retry: { delay: {} as never } })],
    ['retry.delay.factor', () => declare({ retry: { delay: { initial: 1, factor: 0.5 } } })],
    ['retry.delay.max', () => declare({ retry: { delay: { initial: 100, max: 10 } } })],
    ['queue', () => declare({ queue: '' })],
    ['queue', () => declare({ queue: 'amq.nope' })],
    ['handler', () => declare({ handler: 'no' as never })],
    ['queueOptions.type', () => declare({ queueOptions: { type: 'stream' as never } })],
    ['bindings[0].exchange', () => declare({ bindings: [{ exchange: '' }] })],
    ['bindings[0].exchangeType', () => declare({ bindings: [{ exchange: 'x', exchangeType: 'nope' as never }] })],
    ['concurrency', () => declare({ concurrency: 1.5 })],
    ['deadLetter', () => declare({ deadLetter: 'yes' as never })],
    ['handlerTimeout', () => resolvePluginOptions({ handlerTimeout: -1 })],
    ['handlerTimeout', () => declare({ handlerTimeout: 1.5 })],
    ['handlerTimeout', () => declare({ handlerTimeout: 2 ** 31 })],
    ['maxDeliveries', () => resolvePluginOptions({ maxDeliveries: -1 })],
    ['maxDeliveries', () => declare({ maxDeliveries: 2.5 })],
    ['maxDeliveries', () => declare({ maxDeliveries: '3' as never })],
  ]
  for (const [field, fn] of cases) {
    t.throws(
      fn,
      { code: 'FST_AMQP_CONSUMER_INVALID_OPTION', message: new RegExp(`"${field.replace(/[[\].]/g, '\\$&')}"`) },
      field
    )
  }
})

t.test(
  'queue arguments RabbitMQ 4.x deprecates or denies are refused at declaration, naming the feature',
  async (t) => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['classic_queue_v1', { 'x-queue-mode': 'lazy' }],
      ['classic_queue_v1', { 'x-queue-version': 1 }],
      ['classic_queue_mirroring', { 'x-ha-policy': 'all' }],
      ['queue_master_locator', { 'x-queue-master-locator': 'min-masters' }],
    ]
    for (const [feature, args] of cases) {
      t.throws(
        () => declare({ queueOptions: { arguments: args } }),
        {
          code: 'FST_AMQP_CONNECTION_DEPRECATED_FEATURE',
          message: new RegExp(`"queueOptions.arguments" asks for ${feature}`),
        },
        String(Object.keys(args)[0])
      )
    }
    t.doesNotThrow(() => declare({ queueOptions: { arguments: { 'x-queue-version': 2 } } }), 'version 2 is fine')
  }
)
