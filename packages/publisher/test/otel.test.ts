import t from 'tap'
import { errorType, loadOpenTelemetry } from '../src/otel.js'

t.test('loadOpenTelemetry: null for a module that is not the API', async (t) => {
  t.equal(await loadOpenTelemetry('node:os'), null)
  t.equal(await loadOpenTelemetry('@opentelemetry/not-installed'), null)
  t.ok(await loadOpenTelemetry(), 'the API itself')
})

t.test('errorType: the code, else the class name, else _OTHER; never throws', async (t) => {
  t.equal(errorType(Object.assign(new Error('x'), { code: 'FST_AMQP_PUBLISHER_NACK' })), 'FST_AMQP_PUBLISHER_NACK')
  t.equal(errorType(new TypeError('x')), 'TypeError')
  t.equal(errorType({ name: 42 }), '_OTHER')
  t.equal(errorType('a string'), '_OTHER')
  t.equal(errorType(null), '_OTHER')
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('trap')
      },
    }
  )
  t.equal(errorType(hostile), '_OTHER')
})
