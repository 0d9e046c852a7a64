import t from 'tap'
import { deprecatedQueueFeature } from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import { buildApp, uniqueName } from './fixtures/helpers.js'

t.test('deprecatedQueueFeature names each feature RabbitMQ 4.x deprecates or denies', async (t) => {
  const cases: Array<[string, Parameters<typeof deprecatedQueueFeature>[1], string, RegExp]> = [
    ['q', { durable: false }, 'transient_nonexcl_queues', /queue "q" is durable: false without exclusive/],
    ['', { durable: false, autoDelete: true }, 'transient_nonexcl_queues', /a server-named queue/],
    ['q', { arguments: { 'x-queue-mode': 'lazy' } }, 'classic_queue_v1', /x-queue-mode/],
    ['q', { arguments: { 'x-queue-mode': 'default' } }, 'classic_queue_v1', /x-queue-mode/],
    ['q', { queueMode: 'lazy' } as never, 'classic_queue_v1', /x-queue-mode/],
    ['q', { arguments: { 'x-queue-version': 1 } }, 'classic_queue_v1', /x-queue-version: 1/],
    ['q', { arguments: { 'x-ha-policy': 'all' } }, 'classic_queue_mirroring', /x-ha-policy/],
    ['q', { arguments: { 'x-queue-master-locator': 'client-local' } }, 'queue_master_locator', /leader-locator/],
  ]
  for (const [name, options, feature, problem] of cases) {
    const found = deprecatedQueueFeature(name, options)
    t.equal(found?.feature, feature, JSON.stringify(options))
    t.match(found?.problem, problem)
  }
  for (const options of [
    undefined,
    {},
    { durable: false, exclusive: true },
    { durable: true, arguments: { 'x-queue-version': 2, 'x-queue-type': 'quorum' } },
  ]) {
    t.equal(deprecatedQueueFeature('q', options), null, `accepts ${JSON.stringify(options)}`)
  }
})

t.test('resolveOptions refuses a topology queue that asks for one, naming the entry and the feature', async (t) => {
  const err = (() => {
    try {
      resolveOptions({
        topology: { queues: [{ name: 'fine' }, { name: 'lazy', options: { arguments: { 'x-queue-mode': 'lazy' } } }] },
      })
    } catch (e) {
      return e as Error & { code: string }
    }
  })()
  t.equal(err?.code, 'FST_AMQP_CONNECTION_DEPRECATED_FEATURE')
  t.match(err?.message, /"topology.queues\[1\]" asks for classic_queue_v1/)
})

// Against the broker: today's code met each of these only once connected (a 541 reconnect loop
// ending in FST_AMQP_CONNECTION_CONNECT_TIMEOUT, a 406, or a lazy queue silently accepted).
for (const [label, options, feature] of [
  ['durable: false without exclusive', { durable: false }, 'transient_nonexcl_queues'],
  ['x-queue-mode', { arguments: { 'x-queue-mode': 'lazy' } }, 'classic_queue_v1'],
  ['x-queue-version: 1', { arguments: { 'x-queue-version': 1 } }, 'classic_queue_v1'],
  ['x-ha-* arguments', { arguments: { 'x-ha-policy': 'all' } }, 'classic_queue_mirroring'],
] as const) {
  t.test(
    `register refuses a topology queue with ${label} at once: FST_AMQP_CONNECTION_DEPRECATED_FEATURE`,
    async (t) => {
      const started = Date.now()
      const err = await buildApp(t, {
        connectTimeout: 5_000,
        topology: { queues: [{ name: uniqueName('deprecated'), options }] },
      }).catch((e: Error) => e)
      t.match(err, { code: 'FST_AMQP_CONNECTION_DEPRECATED_FEATURE' })
      t.match((err as Error).message, feature)
      t.ok(Date.now() - started < 2_000, 'before any connection could time out')
    }
  )
}
