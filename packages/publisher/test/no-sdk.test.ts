import * as api from '@opentelemetry/api'
import t from 'tap'
import { loadOpenTelemetry } from '../src/otel.js'
import { publisherTelemetry } from '../src/telemetry.js'
import { buildApp, drainQueue, rawChannel, tempQueue } from './fixtures/helpers.js'

t.test('without @opentelemetry/api installed the loader yields null, and no telemetry is made', async (t) => {
  t.equal(await loadOpenTelemetry('@opentelemetry/no-such-api'), null, 'a missing module is no error')
  t.equal(publisherTelemetry(null), null)
})

t.test('with the API but no SDK registered: no telemetry, no headers on the message', async (t) => {
  const loaded = await loadOpenTelemetry()
  t.ok(loaded, 'the API is installed here')
  t.equal(publisherTelemetry(loaded), null, 'nothing is done per message')
  // The API alone would inject nothing either: its propagator is a no-op.
  const carrier: Record<string, string> = {}
  api.propagation.inject(api.context.active(), carrier)
  t.same(carrier, {})
  const { channel } = await rawChannel(t)
  const queue = await tempQueue(t, channel, 'no-sdk')
  const app = await buildApp(t)
  await app.publisher.publish('', queue, { n: 1 })
  await app.publisher.publish('', queue, { n: 2 }, { headers: { tenant: 'acme' } })
  const [plain, withHeaders] = await drainQueue(channel, queue)
  t.equal(plain?.properties.headers?.traceparent, undefined, 'no traceparent')
  t.same(withHeaders?.properties.headers, { tenant: 'acme' }, 'the caller’s headers, nothing added')
})
