import { startFaultProxy } from '@fastify-amqp/test-broker'
import { installSdk, total } from '@fastify-amqp/test-broker/otel'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import t from 'tap'
import { buildApp, drainQueue, once, rawChannel, SHARED_URL, tempQueue, until } from './fixtures/helpers.js'

// Registered before any app is built, as an application registers its SDK before its plugins.
const sdk = installSdk(t)
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/

function producerSpans(messageId: string) {
  return sdk.spans().filter((span) => span.attributes['messaging.message.id'] === messageId)
}

t.test('a publish makes a PRODUCER span in the active context and carries it in traceparent', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel)
  const app = await buildApp(t)
  const parent = trace.getTracer('test').startSpan('parent')
  const headers = { tenant: 'acme' }
  const { messageId } = await context.with(trace.setSpan(context.active(), parent), () =>
    app.publisher.publish('', queue, { id: 1 }, { headers, correlationId: 'saga-1' })
  )
  parent.end()
  const [span] = producerSpans(messageId)
  t.ok(span, 'the span ended by the time the publish resolved')
  if (!span) return
  t.equal(span.kind, SpanKind.PRODUCER)
  t.equal(span.name, 'publish amq.default')
  t.equal(span.spanContext().traceId, parent.spanContext().traceId, 'in the caller’s trace')
  t.equal(span.parentSpanContext?.spanId, parent.spanContext().spanId, 'a child of the active span')
  t.match(span.attributes, {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'publish',
    'messaging.destination.name': '',
    'messaging.rabbitmq.destination.routing_key': queue,
    'messaging.message.id': messageId,
    'messaging.message.body.size': Buffer.byteLength(JSON.stringify({ id: 1 })),
    'messaging.message.conversation_id': 'saga-1',
  })
  t.equal(span.status.code, SpanStatusCode.UNSET)
  t.same(headers, { tenant: 'acme' }, 'the caller’s headers object is left as it was')
  const [message] = await drainQueue(channel, queue)
  const traceparent = String(message?.properties.headers?.traceparent)
  const [, traceId, spanId] = TRACEPARENT.exec(traceparent) ?? []
  t.equal(traceId, span.spanContext().traceId, 'traceparent names the trace')
  t.equal(spanId, span.spanContext().spanId, 'and the producer span as the parent of what follows')
  t.equal(message?.properties.headers?.tenant, 'acme', 'the caller’s headers go along')
})

t.test('a rejected publish ends its span with an error status and error.type', async (t) => {
  const app = await buildApp(t)
  const routingKey = `no-such-queue-${process.pid}-${Date.now()}`
  const err = await app.publisher.publish('', routingKey, { id: 2 }, { messageId: 'unroutable-2' }).catch((e) => e)
  t.equal(err.code, 'FST_AMQP_PUBLISHER_UNROUTABLE')
  const [span] = producerSpans('unroutable-2')
  t.equal(span?.status.code, SpanStatusCode.ERROR)
  t.equal(span?.attributes['error.type'], 'FST_AMQP_PUBLISHER_UNROUTABLE')
  t.ok(
    span?.events.some((event) => event.name === 'exception'),
    'the exception is recorded'
  )
  // Refused before it became a message (a property amqplib cannot write): a span all the same.
  const bad = await app.publisher.publish('', routingKey, {}, { messageId: 'x'.repeat(300) }).catch((e) => e)
  t.equal(bad.code, 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES')
  const refused = sdk.spans().find((span) => span.attributes['error.type'] === 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES')
  t.equal(refused?.status.code, SpanStatusCode.ERROR, 'a refusal before sending ends its span too')
})

t.test('the trace context survives the offline buffer and a re-send after a connection cut', async (t) => {
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  t.teardown(() => proxy.close())
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'otel-cut')
  const app = await buildApp(t, {
    connection: { url: proxy.url(SHARED_URL), reconnect: { initialDelay: 10, maxDelay: 100 } },
    publisher: { confirmTimeout: 30_000 },
  })
  // Stored by the broker, its confirm lost: the cut sends it again, with the same messageId and headers.
  proxy.dropConfirms()
  const resent = app.publisher.publish('', queue, { n: 'resent' }, { messageId: 'resent-1' })
  await until(async () => (await channel.checkQueue(queue)).messageCount === 1, 10_000)
  // Offline: the next publish waits in the buffer until the connection is back.
  proxy.refuse()
  await once(app.amqp, 'disconnected', 10_000)
  const buffered = app.publisher.publish('', queue, { n: 'buffered' }, { messageId: 'buffered-1' })
  const back = once(app.amqp, 'connected', 15_000)
  proxy.restore()
  await back
  await Promise.all([resent, buffered])
  const messages = await drainQueue(channel, queue)
  const copies = messages.filter((m) => m.properties.messageId === 'resent-1')
  t.equal(copies.length, 2, 'the unconfirmed message was sent again')
  for (const id of ['resent-1', 'buffered-1']) {
    const spans = producerSpans(id)
    t.equal(spans.length, 1, `${id}: one span for the publish, however often it went out`)
    const traceId = spans[0]?.spanContext().traceId
    const carried = messages.filter((m) => m.properties.messageId === id)
    t.ok(carried.length > 0)
    for (const message of carried)
      t.equal(
        TRACEPARENT.exec(String(message.properties.headers?.traceparent))?.[1],
        traceId,
        `${id}: every copy carries the span's trace`
      )
  }
  t.equal(producerSpans('resent-1')[0]?.status.code, SpanStatusCode.UNSET, 'ended at the confirm, not the cut')
})

t.test(
  'metrics: sent messages and publish-to-confirm durations by exchange, the buffer and in-flight gauges',
  async (t) => {
    const { channel } = await rawChannel(t)
    const queue = await tempQueue(t, channel, 'otel-metrics')
    const app = await buildApp(t)
    const before = await sdk.collect()
    const ok = { 'messaging.destination.name': '', 'messaging.system': 'rabbitmq' }
    const sentBefore = total(before.get('messaging.client.sent.messages'), ok)
    await Promise.all([1, 2, 3].map((n) => app.publisher.publish('', queue, { n })))
    await app.publisher.publish('', `no-such-queue-${Date.now()}`, {}).catch(() => {})
    const after = await sdk.collect()
    const sent = after.get('messaging.client.sent.messages')
    t.ok(total(sent, ok) - sentBefore >= 4, 'every publish counted')
    t.ok(total(sent, { 'error.type': 'FST_AMQP_PUBLISHER_UNROUTABLE' }) >= 1, 'a rejection counted with its error.type')
    const duration = after.get('messaging.client.operation.duration')
    t.equal(duration?.descriptor.unit, 's')
    t.ok(total(duration, ok) >= 4, 'a duration per publish')
    for (const name of [
      'fastify_amqp.publisher.buffered.messages',
      'fastify_amqp.publisher.buffered.bytes',
      'fastify_amqp.publisher.inflight.messages',
    ])
      t.ok(after.has(name), `${name} reported`)
    const state = after.get('fastify_amqp.connection.state')
    t.ok(
      total(state, { 'fastify_amqp.connection.role': 'publish', 'fastify_amqp.connection.state': 'connected' }) >= 1,
      'the publish connection reported connected'
    )
    t.ok(after.has('fastify_amqp.connection.reconnects'))
  }
)

t.test('a request is traced as a publish: a PRODUCER span to its confirm, its context in the request', async (t) => {
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'otel-rpc')
  let received: Record<string, unknown> | undefined
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return
      received = msg.properties.headers
      channel.sendToQueue(msg.properties.replyTo, Buffer.from('"pong"'), {
        correlationId: msg.properties.correlationId,
        contentType: 'application/json',
      })
    },
    { noAck: true }
  )
  const app = await buildApp(t)
  const parent = trace.getTracer('test').startSpan('parent')
  const answer = await context.with(trace.setSpan(context.active(), parent), () =>
    app.publisher.request('', queue, { ping: true })
  )
  parent.end()
  t.equal(answer, 'pong')
  const spans = sdk.spans().filter((span) => span.attributes['messaging.rabbitmq.destination.routing_key'] === queue)
  t.equal(spans.length, 1, 'one span for the request')
  const [span] = spans
  t.equal(span?.kind, SpanKind.PRODUCER)
  t.equal(span?.parentSpanContext?.spanId, parent.spanContext().spanId, 'a child of the caller’s span')
  t.equal(span?.status.code, SpanStatusCode.UNSET)
  t.match(span?.attributes, {
    'messaging.operation.type': 'send',
    'messaging.message.conversation_id': /^[0-9a-f-]{36}$/,
  })
  const [, traceId, spanId] = TRACEPARENT.exec(String(received?.traceparent)) ?? []
  t.equal(traceId, parent.spanContext().traceId, 'the responder sees the caller’s trace')
  t.equal(spanId, span?.spanContext().spanId, 'with the request’s span as parent')

  // A request nobody can receive: its span ends with the reason.
  await t.rejects(app.publisher.request('', `no-such-queue-${Date.now()}`, {}), {
    code: 'FST_AMQP_PUBLISHER_UNROUTABLE',
  })
  const failed = sdk
    .spans()
    .filter(
      (s) =>
        s.attributes['error.type'] === 'FST_AMQP_PUBLISHER_UNROUTABLE' &&
        s.attributes['messaging.message.conversation_id']
    )
  t.equal(failed.length, 1, 'the unroutable request’s span, ended once with its error')
})
