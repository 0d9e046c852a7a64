import { startFaultProxy } from '@fastify-amqp/test-broker'
import { installSdk, total } from '@fastify-amqp/test-broker/otel'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { ConsumerMessage } from '../src/index.js'
import {
  buildApp,
  captureLogs,
  deleteConsumerQueues,
  openBroker,
  SHARED_URL,
  uniqueName,
  until,
} from './fixtures/helpers.js'

// Registered before any app is built, as an application registers its SDK before its plugins.
const sdk = installSdk(t)
const tracer = trace.getTracer('test')
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/

/** A route that publishes inside its own span, as @fastify/otel's request span would be. */
function orderRoute(app: FastifyInstance, queue: string): void {
  app.post('/orders', (request, reply) =>
    tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER }, async (span) => {
      try {
        const receipt = await reply.publish('', queue, request.body)
        return reply.code(202).send(receipt)
      } finally {
        span.end()
      }
    })
  )
}

function spansNamed(name: string) {
  return sdk.spans().filter((span) => span.name === name)
}

function cleanup(t: { teardown(fn: () => unknown): void }, ...queues: string[]) {
  t.teardown(async () => {
    for (const queue of queues) await deleteConsumerQueues(SHARED_URL, queue, [100])
  })
}

t.test('an HTTP request’s trace runs through reply.publish into the handler and its own publish', async (t) => {
  const queue = uniqueName('otel-orders')
  const next = uniqueName('otel-next')
  cleanup(t, queue, next)
  const broker = await openBroker(t)
  await broker.channel.assertQueue(next, { durable: true })
  const { capture, logger } = captureLogs()
  let seen: { headers: Record<string, unknown>; active: string | undefined; traceId: string | undefined } | null = null
  const app = await buildApp(t, {
    publisher: true,
    logger,
    declare(app) {
      orderRoute(app, queue)
      app.consume(queue, {}, async (message: ConsumerMessage) => {
        const active = trace.getActiveSpan()?.spanContext()
        seen = { headers: message.headers, active: active?.spanId, traceId: active?.traceId }
        message.log.info('charging')
        await tracer.startActiveSpan('charge', async (span) => {
          await message.publish('', next, { charged: true })
          span.end()
        })
      })
    },
  })
  const response = await app.inject({ method: 'POST', url: '/orders', payload: { id: 'o-1' } })
  t.equal(response.statusCode, 202)
  const { messageId } = response.json()
  await until(() => spansNamed(`process ${queue}`).length === 1, 10_000)
  await until(async () => (await broker.count(next)) === 1, 10_000)

  const [producer] = sdk
    .spans()
    .filter((s) => s.attributes['messaging.message.id'] === messageId && s.kind === SpanKind.PRODUCER)
  const http = sdk.spans().find((s) => s.spanContext().spanId === producer?.parentSpanContext?.spanId)
  const [consumer] = spansNamed(`process ${queue}`)
  const [charge] = spansNamed('charge')
  const [onward] = spansNamed('publish amq.default').filter(
    (s) => s.attributes['messaging.rabbitmq.destination.routing_key'] === next
  )
  if (!http || !producer || !consumer || !charge || !onward || !seen) {
    t.fail('every span was recorded, and the handler ran')
    return
  }
  const traceId = http.spanContext().traceId
  for (const span of [producer, consumer, charge, onward])
    t.equal(span.spanContext().traceId, traceId, `${span.name}: one trace`)
  t.equal(producer.parentSpanContext?.spanId, http.spanContext().spanId, 'the producer span is the request’s child')
  t.equal(
    consumer.parentSpanContext?.spanId,
    producer.spanContext().spanId,
    'the consumer span is the producer’s child'
  )
  t.equal(consumer.kind, SpanKind.CONSUMER)
  t.equal(
    charge.parentSpanContext?.spanId,
    consumer.spanContext().spanId,
    'the handler’s own span is the consumer’s child'
  )
  t.equal(onward.parentSpanContext?.spanId, charge.spanContext().spanId, 'message.publish joins the trace')
  const handled = seen as { headers: Record<string, unknown>; active: string | undefined; traceId: string | undefined }
  t.equal(handled.active, consumer.spanContext().spanId, 'the handler runs with the consumer span active')
  t.equal(handled.traceId, traceId)
  t.equal(
    TRACEPARENT.exec(String(handled.headers.traceparent))?.[2],
    producer.spanContext().spanId,
    'traceparent in the headers'
  )
  t.match(consumer.attributes, {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'process',
    'messaging.destination.name': '',
    'messaging.rabbitmq.destination.routing_key': queue,
    'messaging.destination.subscription.name': queue,
    'messaging.message.id': messageId,
    'fastify_amqp.attempt': 1,
    'fastify_amqp.redelivered': false,
    'fastify_amqp.outcome': 'ack',
  })
  t.equal(consumer.status.code, SpanStatusCode.UNSET)
  const line = capture.find((l) => l.msg === 'charging')
  t.equal(line?.trace_id, traceId, 'message.log carries trace_id')
  t.equal(line?.span_id, consumer.spanContext().spanId, 'and span_id')
  const [copy] = await broker.drainQueue(next)
  t.equal(TRACEPARENT.exec(String(copy?.properties.headers?.traceparent))?.[2], onward.spanContext().spanId)
})

t.test('a failing handler: retry then dead letter, each a span of the same trace, and counted', async (t) => {
  const queue = uniqueName('otel-fail')
  cleanup(t, queue)
  const broker = await openBroker(t)
  const before = await sdk.collect()
  const byQueue = { 'messaging.destination.subscription.name': queue }
  const app = await buildApp(t, {
    publisher: true,
    declare(app) {
      app.consume(queue, { retry: { attempts: 2, delay: 100 } }, async () => {
        throw Object.assign(new Error('card declined'), { code: 'CARD_DECLINED' })
      })
    },
  })
  const parent = tracer.startSpan('job')
  await context.with(trace.setSpan(context.active(), parent), () => app.publisher.publish('', queue, { n: 1 }))
  parent.end()
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 15_000)
  await until(() => spansNamed(`process ${queue}`).length === 2, 5_000)
  const spans = spansNamed(`process ${queue}`).sort(
    (a, b) => Number(a.attributes['fastify_amqp.attempt']) - Number(b.attributes['fastify_amqp.attempt'])
  )
  const [first, second] = spans
  t.match(first?.attributes, {
    'fastify_amqp.attempt': 1,
    'fastify_amqp.outcome': 'retry',
    'error.type': 'CARD_DECLINED',
  })
  t.match(second?.attributes, {
    'fastify_amqp.attempt': 2,
    'fastify_amqp.outcome': 'dead-letter',
    'fastify_amqp.dead_letter.reason': 'handler-error',
  })
  for (const span of spans) {
    t.equal(span.spanContext().traceId, parent.spanContext().traceId, 'in the publisher’s trace')
    t.equal(span.status.code, SpanStatusCode.ERROR)
    t.ok(
      span.events.some((event) => event.name === 'exception'),
      'the handler’s error recorded'
    )
  }
  // The retry copy went out inside the first delivery's span: the second try is that publish's child.
  const retryPublish = sdk
    .spans()
    .find((s) => s.kind === SpanKind.PRODUCER && s.parentSpanContext?.spanId === first?.spanContext().spanId)
  t.equal(second?.parentSpanContext?.spanId, retryPublish?.spanContext().spanId, 'the retry hop is traced too')

  const after = await sdk.collect()
  const delta = (name: string, attributes: Record<string, unknown> = byQueue) =>
    total(after.get(name), attributes) - total(before.get(name), attributes)
  t.equal(delta('messaging.client.consumed.messages'), 2, 'two deliveries consumed')
  t.equal(delta('messaging.process.duration'), 2, 'two processing durations')
  t.equal(delta('fastify_amqp.consumer.retries'), 1, 'one retry')
  t.equal(
    delta('fastify_amqp.consumer.dead_letters', { ...byQueue, 'fastify_amqp.dead_letter.reason': 'handler-error' }),
    1,
    'one dead letter, by reason'
  )
  t.equal(total(after.get('fastify_amqp.consumer.handlers.running'), byQueue), 0, 'no handler running')
  t.ok(
    total(after.get('fastify_amqp.connection.state'), {
      'fastify_amqp.connection.role': 'consume',
      'fastify_amqp.connection.state': 'connected',
    }) >= 1,
    'the consume connection reported connected'
  )
  t.ok(
    total(after.get('messaging.process.duration'), { ...byQueue, 'error.type': 'CARD_DECLINED' }) >= 1,
    'durations carry error.type'
  )
})

t.test('a message refused unread: dead-lettered with its reason, a root span without a traceparent', async (t) => {
  const queue = uniqueName('otel-poison')
  cleanup(t, queue)
  const broker = await openBroker(t)
  await buildApp(t, {
    publisher: true,
    declare(app) {
      app.consume(queue, {}, async () => {})
    },
  })
  await broker.send(queue, Buffer.from('{not json'), { contentType: 'application/json', messageId: 'poison-1' })
  await until(() => spansNamed(`process ${queue}`).length === 1, 10_000)
  const [span] = spansNamed(`process ${queue}`)
  t.equal(span?.parentSpanContext, undefined, 'no traceparent: a root span')
  t.match(span?.attributes, {
    'messaging.message.id': 'poison-1',
    'fastify_amqp.outcome': 'dead-letter',
    'fastify_amqp.dead_letter.reason': 'invalid-json',
    'error.type': 'invalid-json',
  })
  t.equal(span?.status.code, SpanStatusCode.ERROR)
})

t.test("traceContext: 'link' starts a trace per delivery, linked to the producer's span", async (t) => {
  const queue = uniqueName('otel-link')
  cleanup(t, queue)
  const app = await buildApp(t, {
    publisher: true,
    consumer: { traceContext: 'link' },
    declare(app) {
      app.consume(queue, {}, async () => {})
    },
  })
  const parent = tracer.startSpan('job')
  const { messageId } = await context.with(trace.setSpan(context.active(), parent), () =>
    app.publisher.publish('', queue, { n: 1 })
  )
  parent.end()
  await until(() => spansNamed(`process ${queue}`).length === 1, 10_000)
  const [consumer] = spansNamed(`process ${queue}`)
  const producer = sdk
    .spans()
    .find((s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.message.id'] === messageId)
  t.not(consumer?.spanContext().traceId, parent.spanContext().traceId, 'a trace of its own')
  t.equal(consumer?.parentSpanContext, undefined, 'a root span')
  t.equal(consumer?.links[0]?.context.spanId, producer?.spanContext().spanId, 'linked to the producer span')
})

t.test('across a connection cut: the re-sent message’s deliveries stay in the request’s trace', async (t) => {
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  t.teardown(() => proxy.close())
  const queue = uniqueName('otel-cut')
  cleanup(t, queue)
  const broker = await openBroker(t)
  const runs: string[] = []
  const app = await buildApp(t, {
    publisher: true,
    connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 10, maxDelay: 100 } },
    declare(app) {
      orderRoute(app, queue)
      app.consume(queue, {}, async () => {
        runs.push(trace.getActiveSpan()?.spanContext().traceId ?? 'none')
      })
    },
  })
  // Stored and delivered, its confirm lost: the cut makes the publisher send it again (same messageId, same headers).
  proxy.dropConfirms()
  const response = app.inject({ method: 'POST', url: '/orders', payload: { id: 'o-cut' } })
  await until(() => runs.length === 1, 10_000)
  proxy.restore()
  proxy.cut()
  t.equal((await response).statusCode, 202, 'the request got its confirm after the re-send')
  await until(() => runs.length === 2, 15_000)
  t.equal(await broker.count(queue), 0)
  const producers = sdk
    .spans()
    .filter((s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.rabbitmq.destination.routing_key'] === queue)
  t.equal(producers.length, 1, 'one producer span for the publish sent twice')
  const http = sdk.spans().find((s) => s.spanContext().spanId === producers[0]?.parentSpanContext?.spanId)
  t.equal(http?.name, 'POST /orders', 'the request’s child')
  const traceId = http?.spanContext().traceId
  t.same(runs, [traceId, traceId], 'both deliveries ran in the request’s trace')
  const consumers = spansNamed(`process ${queue}`)
  t.equal(consumers.length, 2)
  for (const span of consumers) t.equal(span.parentSpanContext?.spanId, producers[0]?.spanContext().spanId)
})

t.test('reply.rpc: the request, the handler and its reply are spans of the HTTP request’s trace', async (t) => {
  const queue = uniqueName('otel-rpc')
  cleanup(t, queue)
  const app = await buildApp(t, {
    publisher: true,
    declare(app) {
      app.get('/double/:n', (request, reply) =>
        tracer.startActiveSpan('GET /double', { kind: SpanKind.SERVER }, async (span) => {
          try {
            return await reply.rpc('', queue, { n: Number((request.params as { n: string }).n) })
          } finally {
            span.end()
          }
        })
      )
      app.consume(queue, { retry: false }, async (message: ConsumerMessage) => ({
        doubled: (message.body as { n: number }).n * 2,
      }))
    },
  })
  const response = await app.inject({ url: '/double/21' })
  t.same(response.json(), { doubled: 42 })
  await until(() => spansNamed(`process ${queue}`).length === 1, 10_000, 'the handler’s span')
  const [http] = spansNamed('GET /double')
  const [consumer] = spansNamed(`process ${queue}`)
  const request = sdk
    .spans()
    .find((s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.rabbitmq.destination.routing_key'] === queue)
  if (!http || !consumer || !request) {
    t.fail('the HTTP, request and handler spans were recorded')
    return
  }
  const traceId = http.spanContext().traceId
  t.equal(request.parentSpanContext?.spanId, http.spanContext().spanId, 'the request is the route’s child')
  t.equal(consumer.spanContext().traceId, traceId, 'the handler runs in the caller’s trace')
  t.equal(consumer.parentSpanContext?.spanId, request.spanContext().spanId, 'as the request’s child')
  await until(
    () =>
      sdk
        .spans()
        .some(
          (s) =>
            s.kind === SpanKind.PRODUCER &&
            s.parentSpanContext?.spanId === consumer.spanContext().spanId &&
            String(s.attributes['messaging.rabbitmq.destination.routing_key']).startsWith('amq.rabbitmq.reply-to')
        ),
    10_000,
    'the reply, published inside the handler’s span'
  )
})
