import t from 'tap'
import { appBehindFaultProxy, until } from './fixtures/helpers.js'

t.test(
  'GET /health is 503 while the broker connection is cut (consumers unsubscribed) and 200 again after',
  async (t) => {
    const { app, proxy } = await appBehindFaultProxy(t, 'health')
    const health = () => app.inject({ method: 'GET', url: '/health' })

    const up = await health()
    t.equal(up.statusCode, 200)
    t.match(up.json(), { status: 'ok', amqp: { status: 'connected' }, consumers: { ready: true, subscribed: 2 } })
    t.notMatch(up.body, /guest:guest/, 'no credentials in the answer')

    // refuse: cut every socket and refuse new ones, so the connection stays down until restore.
    proxy.refuse()
    await until(async () => (await health()).statusCode === 503, 10_000, '/health to turn 503')
    const down = (await health()).json()
    t.equal(down.status, 'unavailable')
    t.not(down.amqp.status, 'connected', `the connection state is reported (${down.amqp.status})`)
    t.type(down.amqp.lastError, 'string')
    await until(async () => (await health()).json().consumers.subscribed === 0, 10_000, 'both consumers unsubscribed')
    t.match((await health()).json().consumers, {
      ready: false,
      notSubscribed: [app.names.processQueue, app.names.recordQueue],
    })

    // An order posted during the outage waits in the publisher's buffer and is accepted once the broker is back.
    const order = app.inject({
      method: 'POST',
      url: '/orders',
      payload: { customer: 'ada', items: [{ sku: 'A', quantity: 1 }] },
    })
    proxy.restore()
    await until(async () => (await health()).statusCode === 200, 30_000, '/health to turn 200 again')
    t.match((await health()).json(), { status: 'ok', amqp: { status: 'connected' }, consumers: { ready: true } })
    const accepted = await order
    t.equal(accepted.statusCode, 202, 'the order posted during the outage is accepted after it')
    const { id } = accepted.json()
    await until(() => app.store.get(id)?.status === 'processed', 15_000, 'that order to be processed')
  }
)
