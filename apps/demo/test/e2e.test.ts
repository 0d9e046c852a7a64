import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '@fastify-amqp/test-broker'
import t from 'tap'
import { HttpClient } from '../src/load/http.js'
import { randomOrder } from '../src/load/orders.js'
import { logLines, spawnDemo, testConfig, until } from './fixtures/helpers.js'

const ORDERS = 2_000
const CLIENTS = 50
const SIGTERM_AFTER = 500

t.test('2,000 orders, SIGTERM mid-load, restart on the same database: every accepted order is processed', async (t) => {
  const config = testConfig(t, 'e2e')
  const port = await freePort()
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    AMQP_URL: config.amqpUrl,
    AMQP_PREFIX: config.amqpPrefix,
    DATABASE_PATH: config.databasePath,
    WORK_DELAY_MS: '5',
  }
  const client = new HttpClient(`http://127.0.0.1:${port}`, CLIENTS)
  t.teardown(() => client.close())
  const healthy = async () => (await client.send('GET', '/health', undefined, 2_000).catch(() => null))?.status === 200

  const first = spawnDemo(t, env)
  await until(healthy, 30_000, 'the first demo process to be healthy')

  // 50 clients post 2,000 orders; an order answered 503 or not answered at all (the process is gone) is posted again.
  const pending = Array.from({ length: ORDERS }, (_, n) => n)
  const accepted = new Map<string, number>()
  const acceptedBeforeExit = new Set<string>()
  const statuses = new Map<number, number>()
  const networkErrors = new Map<string, number>()
  let answers = 0
  let unconfirmed = 0
  let without503RetryAfter = 0
  let firstExited = false
  let sigtermSent = false
  let sigtermAt = 0
  const deadline = Date.now() + 120_000

  const clientLoop = async () => {
    while (accepted.size < ORDERS && Date.now() < deadline) {
      const n = pending.shift()
      if (n === undefined) {
        await sleep(20) // another client holds the last orders; one may come back
        continue
      }
      try {
        const answer = await client.send('POST', '/orders', randomOrder(n), 30_000)
        answers += 1
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
        if (answer.status === 202) {
          const { id } = answer.body as { id: string }
          accepted.set(id, n)
          if (!firstExited) acceptedBeforeExit.add(id)
        } else {
          if (answer.status === 503 && answer.headers['retry-after'] === undefined) without503RetryAfter += 1
          const kept = answer.body as { id?: string; status?: string } | undefined
          if (kept?.status === 'unconfirmed' && kept.id !== undefined) {
            // Kept: its message may still arrive, so posting again would place a second order. It must end processed.
            accepted.set(kept.id, n)
            unconfirmed += 1
          } else {
            pending.push(n)
            await sleep(100)
          }
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
        networkErrors.set(code, (networkErrors.get(code) ?? 0) + 1)
        pending.push(n)
        await sleep(100)
      }
      if (!sigtermSent && answers >= SIGTERM_AFTER) {
        sigtermSent = true
        sigtermAt = Date.now()
        first.child.kill('SIGTERM')
      }
    }
  }

  // The restart: as soon as the first process is gone, a second starts on the same database and names.
  let second: ReturnType<typeof spawnDemo> | undefined
  const restart = (async () => {
    const exit = await first.exited
    firstExited = true
    const shutdownMs = Date.now() - sigtermAt
    second = spawnDemo(t, env)
    return { exit, shutdownMs }
  })()

  await Promise.all(Array.from({ length: CLIENTS }, clientLoop))
  const { exit, shutdownMs } = await restart

  t.same(exit, { code: 0, signal: null }, 'the first process exits 0 after SIGTERM')
  t.equal(accepted.size, ORDERS, `all ${ORDERS} orders accepted (or kept as unconfirmed) in the end, each id once`)
  const fiveHundreds = [...statuses].filter(([status]) => status >= 500 && status !== 503)
  t.same(fiveHundreds, [], 'no 5xx answer other than 503')
  t.same(
    [...statuses.keys()].filter((status) => status !== 202 && status !== 503),
    [],
    'every answer is 202 or 503'
  )
  t.equal(without503RetryAfter, 0, 'every 503 says when to retry (Retry-After)')
  t.ok(acceptedBeforeExit.size >= SIGTERM_AFTER - CLIENTS, `the first process accepted ${acceptedBeforeExit.size}`)

  // Shutdown steps, in order, in the first process's log.
  const messages = logLines(first.output()).map((line) => line.msg ?? '')
  const steps = [
    'shutdown: started',
    'shutdown: HTTP takes no new requests; cancelling consumers and draining running handlers',
    'shutdown: consumers drained; HTTP finishing in-flight requests',
    'shutdown: HTTP server closed; closing the consumer channels',
    'shutdown: consumer channels closed; publisher flushing its confirms',
    'shutdown: publisher flushed; closing the AMQP connections',
    'shutdown: AMQP connections closed; store closed',
    'shutdown: complete (exit code 0)',
  ]
  const positions = steps.map((step) => messages.indexOf(step))
  t.notOk(positions.includes(-1), 'every shutdown step is logged')
  t.same(
    positions,
    [...positions].sort((a, b) => a - b),
    'in this order'
  )

  // None lost: every order answered 202, before or after the restart, ends up processed in the second process's store.
  const unprocessed = new Set(accepted.keys())
  await until(
    async () => {
      const ids = [...unprocessed]
      await Promise.all(
        ids.map(async (id) => {
          const answer = await client.send('GET', `/orders/${id}`).catch(() => null)
          if ((answer?.body as { status?: string } | undefined)?.status === 'processed') unprocessed.delete(id)
        })
      )
      return unprocessed.size === 0
    },
    60_000,
    'every accepted order to be processed'
  )
  t.equal(unprocessed.size, 0, 'every accepted order is processed, none lost')
  // Requests cut off at shutdown (connection reset) never reached a handler: the store holds exactly the accepted orders.
  const stats = await client.send('GET', '/stats')
  t.same(
    (stats.body as { orders: unknown }).orders,
    { placed: 0, unconfirmed: 0, processed: ORDERS },
    'no order stored without a 202'
  )

  t.comment(
    `answers: ${[...statuses].map(([s, c]) => `${s}×${c}`).join(' ')}; not answered: ${
      [...networkErrors].map(([e, c]) => `${e}×${c}`).join(' ') || 'none'
    }; accepted by the first process: ${acceptedBeforeExit.size}; kept as unconfirmed: ${unconfirmed}; shutdown took ${shutdownMs} ms`
  )

  second?.child.kill('SIGTERM')
  t.same(await second?.exited, { code: 0, signal: null }, 'the second process exits 0 too')
})
