import type { FastifyBaseLogger } from 'fastify'
import t from 'tap'
import { SafeEmitter } from '../src/safe-emitter.js'

interface Events {
  ping: [info: { n: number }]
}

function recordingLog(): { log: FastifyBaseLogger; errors: Array<Record<string, unknown> & { msg: string }> } {
  const errors: Array<Record<string, unknown> & { msg: string }> = []
  const log = { error: (obj: Record<string, unknown>, msg: string) => errors.push({ ...obj, msg }) }
  return { log: log as unknown as FastifyBaseLogger, errors }
}

t.test('a throwing listener is logged, scrubbed, and the others still run', async (t) => {
  const { log, errors } = recordingLog()
  const emitter = new SafeEmitter<Events>({ log, secrets: ['s3cret'], bindings: { role: 'publish' } })
  const seen: number[] = []
  emitter.on('ping', () => {
    throw new Error('listener broke with s3cret')
  })
  emitter.on('ping', ({ n }) => {
    seen.push(n)
  })
  t.equal(emitter.emit('ping', { n: 1 }), true, 'emit returns whether there were listeners')
  t.same(seen, [1], 'the listener after the throwing one ran')
  t.same(errors, [
    { role: 'publish', event: 'ping', err: 'listener broke with ***', msg: "amqp 'ping' listener failed" },
  ])
})

t.test('a listener returning a rejected promise is logged, not left unhandled', async (t) => {
  const { log, errors } = recordingLog()
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => process.off('unhandledRejection', onUnhandled))
  const emitter = new SafeEmitter<Events>({ log, secrets: [] })
  emitter.on('ping', async () => {
    throw new Error('async listener broke')
  })
  emitter.emit('ping', { n: 1 })
  await new Promise((resolve) => setImmediate(resolve))
  t.same(errors, [{ event: 'ping', err: 'async listener broke', msg: "amqp 'ping' listener failed" }])
  t.same(unhandled, [])
})

t.test('once listeners are removed when they run, even when they throw', async (t) => {
  const { log, errors } = recordingLog()
  const emitter = new SafeEmitter<Events>({ log, secrets: [] })
  let calls = 0
  emitter.once('ping', () => {
    calls += 1
    throw new Error('once')
  })
  emitter.emit('ping', { n: 1 })
  t.equal(emitter.emit('ping', { n: 2 }), false, 'no listener left')
  t.equal(calls, 1)
  t.equal(errors.length, 1)
})
