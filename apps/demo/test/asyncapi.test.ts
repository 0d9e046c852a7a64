import { DiagnosticSeverity, Parser } from '@asyncapi/parser'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig } from './fixtures/helpers.js'

t.test('GET /asyncapi.json: the AsyncAPI 3 document of both queues and both published messages', async (t) => {
  const app = await buildApp(testConfig(t, 'asyncapi'), { logger: false })
  t.teardown(() => app.close())
  const { exchange, processQueue, recordQueue } = app.names

  const res = await app.inject({ method: 'GET', url: '/asyncapi.json' })
  t.equal(res.statusCode, 200)
  const { document, diagnostics } = await new Parser().parse(res.body)
  const errors = diagnostics.filter((diagnostic) => diagnostic.severity === DiagnosticSeverity.Error)
  t.same(
    errors.map((error) => error.message),
    [],
    'no errors'
  )
  if (!document) throw new Error('not parsed')
  t.match(document.info().json(), { title: 'Orders demo', version: '1.0.0' })

  const payloadOf = (action: 'send' | 'receive', address: string) =>
    document
      .operations()
      .all()
      .filter((op) => op.action() === action && op.channels().all()[0]?.address() === address)
      .map((op) => Object.keys(op.messages().all()[0]?.payload()?.properties() ?? {}))
  t.same(
    payloadOf('receive', processQueue),
    [['id', 'customer', 'items', 'placedAt']],
    'orders.process consumes OrderPlaced'
  )
  t.same(payloadOf('receive', recordQueue), [['id', 'processedAt']], 'orders.record-processed consumes OrderProcessed')
  t.same(
    payloadOf('send', 'order.placed'),
    [['id', 'customer', 'items', 'placedAt']],
    'POST /orders sends order.placed'
  )
  t.same(payloadOf('send', 'order.processed'), [['id', 'processedAt']], 'the processing consumer sends order.processed')

  // The retry and dead-letter queues of both consumers, as the consumer plugin declares them.
  const queues = new Set(app.consumers.flatMap((c) => [c.queue, ...c.delayQueues, c.deadLetterQueue]))
  const channels = document
    .channels()
    .all()
    .filter((channel) => channel.bindings().get('amqp')?.value().is === 'queue')
    .map((channel) => channel.address())
  t.same(new Set(channels), queues)
  const route = document
    .channels()
    .all()
    .find((channel) => channel.address() === 'order.placed')
  t.match(route?.bindings().get('amqp')?.value(), { is: 'routingKey', exchange: { name: exchange } })
})
