import { get, type IncomingMessage } from 'node:http'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { testConfig, until } from './fixtures/helpers.js'

/** The events of a text/event-stream response, parsed as they arrive. */
function readEvents(response: IncomingMessage): { event: string; data: unknown }[] {
  const events: { event: string; data: unknown }[] = []
  let buffer = ''
  response.setEncoding('utf8')
  response.on('data', (chunk: string) => {
    buffer += chunk
    const blocks = buffer.split('\n\n')
    buffer = blocks.pop() ?? ''
    for (const block of blocks) {
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) })
    }
  })
  return events
}

t.test(
  'GET /live: the state read afresh (orders, consumers, every queue, connections) and the rate history',
  async (t) => {
    const app = await buildApp(testConfig(t, 'live'), { logger: false })
    t.teardown(() => app.close())
    const answer = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: { customer: 'ada', items: [{ sku: 'A', quantity: 1 }] },
    })
    t.equal(answer.statusCode, 202)
    const live = async () => (await app.inject({ method: 'GET', url: '/live' })).json()
    await until(async () => (await live()).snapshot.orders.processed === 1, 10_000, 'the order to be processed')
    const { snapshot, history } = await live()
    const { processQueue, recordQueue } = app.names
    t.same(snapshot.orders, { placed: 1, processed: 1, unconfirmed: 0, open: 0, deadLettered: 0 })
    t.match(snapshot.consumers, [
      { queue: processQueue, active: true, inFlight: 0, concurrency: 20, retriesWaiting: 0, deadLettered: 0 },
      { queue: recordQueue, active: true },
    ])
    t.same(
      snapshot.queues.map((q: { queue: string; kind: string }) => `${q.kind} ${q.queue}`),
      [
        `main ${processQueue}`,
        `delay ${processQueue}.delay.500`,
        `delay ${processQueue}.delay.1000`,
        `dead-letter ${processQueue}.dlq`,
        `main ${recordQueue}`,
        `delay ${recordQueue}.delay.500`,
        `delay ${recordQueue}.delay.1000`,
        `dead-letter ${recordQueue}.dlq`,
      ],
      "each consumer's queue, delay queues and dead-letter queue"
    )
    t.match(snapshot.queues[0], { messages: 0, consumers: 1 }, "depths read through the app's own channel")
    t.match(snapshot.connections, {
      up: true,
      publish: { state: 'connected' },
      consume: { state: 'connected', pool: 1 },
    })
    t.ok(Array.isArray(history))
  }
)

t.test(
  'GET /live/events streams history, connections, then a snapshot a second; app.close() ends the stream',
  async (t) => {
    const app = await buildApp(testConfig(t, 'live-events'), { logger: false })
    let closed = false
    t.teardown(() => closed || app.close())
    const base = await app.listen({ port: 0, host: '127.0.0.1' })
    const response = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${base}/live/events`, resolve).once('error', reject)
    )
    t.equal(response.statusCode, 200)
    t.match(response.headers['content-type'], 'text/event-stream')
    const events = readEvents(response)
    await until(() => events.filter((e) => e.event === 'snapshot').length >= 2, 10_000, 'two snapshots')
    t.same(
      events.slice(0, 2).map((e) => e.event),
      ['history', 'connections'],
      'a new page gets the history and the connections at once'
    )
    const snapshots = events.filter((e) => e.event === 'snapshot') as { data: { at: number; rate: unknown } }[]
    const [first, second] = snapshots as [(typeof snapshots)[0], (typeof snapshots)[0]]
    const apart = second.data.at - first.data.at
    t.ok(apart >= 700 && apart <= 3_000, `about a second apart (${apart} ms)`)
    t.match(second.data.rate, { placed: 0, processed: 0, deadLettered: 0, brokerUp: true }, 'each with its rate point')

    const ended = new Promise((resolve) => response.once('close', resolve))
    await app.close()
    closed = true
    await ended
    t.pass('the open stream did not hold up the close, and ended with it')
  }
)

t.test('GET / serves the page, its script and its stylesheet', async (t) => {
  const app = await buildApp(testConfig(t, 'page-files'), { logger: false })
  t.teardown(() => app.close())
  const page = await app.inject({ method: 'GET', url: '/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], 'text/html')
  t.match(page.body, '<script type="module" src="/page.js">')
  t.match((await app.inject({ method: 'GET', url: '/page.js' })).headers['content-type'], 'text/javascript')
  t.match((await app.inject({ method: 'GET', url: '/page.css' })).headers['content-type'], 'text/css')
})
