import { loadOpenTelemetry } from '@fastify-amqp/publisher/telemetry'
import { trace } from '@opentelemetry/api'
import t from 'tap'
import type { ConsumerMessage } from '../src/index.js'
import { consumerTelemetry } from '../src/telemetry.js'
import { buildApp, captureLogs, deleteConsumerQueues, SHARED_URL, uniqueName, until } from './fixtures/helpers.js'

t.test('no telemetry without the API, nor with the API and no SDK registered', async (t) => {
  t.equal(consumerTelemetry(null, 'parent'), null)
  t.equal(consumerTelemetry(await loadOpenTelemetry(), 'parent'), null)
})

t.test('without an SDK: no span around the handler, no trace headers, no trace ids in the log', async (t) => {
  const queue = uniqueName('no-sdk')
  t.teardown(() => deleteConsumerQueues(SHARED_URL, queue))
  const { capture, logger } = captureLogs()
  let seen: { headers: Record<string, unknown>; active: unknown } | null = null
  const app = await buildApp(t, {
    publisher: true,
    logger,
    declare(app) {
      app.consume(queue, {}, async (message: ConsumerMessage) => {
        seen = { headers: message.headers, active: trace.getActiveSpan() }
        message.log.info('handled')
      })
    },
  })
  await app.publisher.publish('', queue, { n: 1 })
  await until(() => seen !== null, 10_000)
  const handled = seen as unknown as { headers: Record<string, unknown>; active: unknown }
  t.equal(handled.active, undefined, 'no active span in the handler')
  t.equal(handled.headers.traceparent, undefined, 'no traceparent header')
  const line = capture.find((l) => l.msg === 'handled')
  t.ok(line, 'the handler logged')
  t.notOk('trace_id' in (line ?? {}), 'no trace_id in its log line')
})

t.test("traceContext accepts 'parent' or 'link' only", async (t) => {
  await t.rejects(buildApp(t, { consumer: { traceContext: 'child' as never } }), {
    code: 'FST_AMQP_CONSUMER_INVALID_OPTION',
  })
})
