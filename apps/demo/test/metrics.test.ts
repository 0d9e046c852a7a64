import { metrics } from '@opentelemetry/api'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { startMetrics } from '../src/metrics.js'
import { testConfig, until } from './fixtures/helpers.js'

// One meter provider for this process (a test file runs in a process of its own), before the plugins register.
const exporter = startMetrics()
t.teardown(() => metrics.disable())

t.test("GET /metrics serves the plugins' OpenTelemetry metrics in the Prometheus format", async (t) => {
  const app = await buildApp(testConfig(t, 'metrics'), { logger: false, metrics: exporter })
  t.teardown(() => app.close())
  const placed = await app.inject({
    method: 'POST',
    url: '/orders',
    payload: { customer: 'ada', items: [{ sku: 'A', quantity: 1 }] },
  })
  t.equal(placed.statusCode, 202)
  const { id } = placed.json()
  await until(() => app.store.get(id)?.status === 'processed', 15_000, 'the order processed')

  const scrape = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(scrape.statusCode, 200)
  t.match(scrape.headers['content-type'], /^text\/plain/)
  const text = scrape.body
  // The order.placed and order.processed publishes, each confirmed, and the two deliveries.
  t.match(text, /^messaging_client_sent_messages_total\{[^}]*messaging_destination_name="[^"]+"[^}]*\} [1-9]/m)
  t.match(text, /^messaging_client_consumed_messages_total\{[^}]*\} [1-9]/m)
  t.match(text, /^messaging_client_operation_duration_bucket\{/m)
  t.match(text, /^messaging_process_duration_count\{/m)
  t.match(text, /^fastify_amqp_connection_state\{/m)
  t.notMatch(text, /guest:guest/, 'no credentials in a label')
})

t.test('without an exporter there is no /metrics route', async (t) => {
  const app = await buildApp(testConfig(t, 'no-metrics'), { logger: false })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
})
