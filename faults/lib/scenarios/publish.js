import { randomUUID } from 'node:crypto'
import { startFaultProxy } from '@fastify-amqp/test-broker'
import { runPipeline } from '../pipeline.js'
import { paced } from '../traffic.js'
import { SHARED_URL, sleep } from '../util.js'

/** Codes of a rejection that does not say "not stored": the message may still arrive, a client tries again. */
const MAY_ARRIVE = new Set([
  'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT',
  'FST_AMQP_PUBLISHER_CLOSED',
  'FST_AMQP_CONNECTION_CLOSED',
])
// The topology binds order.placed and order.done: a mandatory publish with this key is returned.
const UNBOUND_KEY = 'order.nowhere'

const codeOf = (err) => err?.code ?? String(err)
const count = (counts, key) => {
  counts[key] = (counts[key] ?? 0) + 1
}
/** Counts as a figure the report can print: ['key x n', ...]. */
const listed = (counts) => Object.entries(counts).map(([key, n]) => `${key} x ${n}`)

/** A rejection that says the message may still arrive: by its code, or by err.mayHaveArrived. */
const mayHaveArrived = (err) => err?.mayHaveArrived === true || MAY_ARRIVE.has(codeOf(err))

/**
 * Publishes through the app's publisher, trying again with the same messageId (as a client should) after a
 * rejection that says the message may still arrive, up to `tries` times in all; a rejection with the `expected`
 * code is an answer, not tried again. Resolves { ok, code, mayArrive, said } of the last try (`said`: its
 * err.mayHaveArrived); each may-arrive rejection on the way is counted in `counts` by code.
 */
async function publishTrying(publish, { tries, counts, expected = null }) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await publish()
      return { ok: true, code: null, mayArrive: false }
    } catch (err) {
      const code = codeOf(err)
      const said = err?.mayHaveArrived
      if (code === expected || !mayHaveArrived(err)) return { ok: false, code, mayArrive: false, said }
      count(counts, code)
      if (attempt >= tries) return { ok: false, code, mayArrive: true, said }
    }
  }
}

/**
 * Pairs of publishes sharing a messageId (an idempotency key), issued together, one to order.placed (bound
 * to the checked queue) and one to a key nothing is bound to (mandatory: returned), while the fault proxy
 * cuts the app's sockets every few hundred ms. The publisher tells the copies apart by exchange and routing
 * key, so each copy gets its own answer across the cuts and re-sends: the routed one resolves (and is
 * consumed: lost 0), the unroutable one rejects with FST_AMQP_PUBLISHER_UNROUTABLE, whichever connection they went out
 * on. Rejections that say "may still arrive" are tried again and counted; any other answer is wrong.
 */
export async function sharedIds(profile) {
  const p = profile.sharedIds
  const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
  const figures = {
    pairs: 0,
    routedResolved: 0,
    unroutableRejected: 0,
    unroutableResolved: 0,
    unroutableSaidMayHaveArrived: 0,
    // Still a may-arrive rejection after every try: reported, not counted as wrong.
    routedGaveUp: 0,
    unroutableGaveUp: 0,
    wrongCount: 0,
  }
  const mayArrive = {}
  const wrongAnswers = {}
  const wrong = (what) => {
    count(wrongAnswers, what)
    figures.wrongCount += 1
  }
  return runPipeline({
    name: 'shared-ids',
    title: `Pairs sharing a messageId (one routed, one unroutable) under cuts every ${p.gap[0]}-${p.gap[1]} ms for ${p.duration / 1000} s`,
    brokerUrl: SHARED_URL,
    appUrl: proxy.url(SHARED_URL),
    rate: p.rate,
    recoverBound: p.recoverBound,
    async fault(run) {
      const { exchange } = run.names
      const publisher = run.app.publisher
      const pairs = paced({
        rate: p.pairs,
        concurrency: p.concurrency,
        async job() {
          const id = randomUUID()
          const body = { id, total: 1 }
          figures.pairs += 1
          const routedFirst = figures.pairs % 2 === 0
          run.tally.published += 1
          const tries = { tries: p.tries, counts: mayArrive }
          const routedCopy = () =>
            publishTrying(() => publisher.publish(exchange, 'order.placed', body, { messageId: id }), tries)
          const unroutableCopy = () =>
            publishTrying(() => publisher.publish(exchange, UNBOUND_KEY, body, { messageId: id }), {
              ...tries,
              expected: 'FST_AMQP_PUBLISHER_UNROUTABLE',
            })
          // Either copy first, in turn: a return matched to the wrong copy shows whichever way it errs.
          const [routed, unroutable] = routedFirst
            ? await Promise.all([routedCopy(), unroutableCopy()])
            : (await Promise.all([unroutableCopy(), routedCopy()])).reverse()
          // The routed copy is an order like the HTTP ones: a resolved one must reach the final consumer.
          run.tally.recordResult(id, routed.ok ? 202 : routed.code)
          if (routed.ok) figures.routedResolved += 1
          else if (routed.mayArrive) figures.routedGaveUp += 1
          else wrong(`routed: ${routed.code}`)
          if (unroutable.ok) {
            figures.unroutableResolved += 1
            wrong('unroutable: resolved')
          } else if (unroutable.code === 'FST_AMQP_PUBLISHER_UNROUTABLE') {
            figures.unroutableRejected += 1
            // A copy returned after a re-send: its first write, on a channel that died, may have been routed.
            if (unroutable.said === true) figures.unroutableSaidMayHaveArrived += 1
          } else if (unroutable.mayArrive) figures.unroutableGaveUp += 1
          else wrong(`unroutable: ${unroutable.code}`)
        },
      })
      const end = Date.now() + p.duration
      let cuts = 0
      while (Date.now() < end) {
        // The fault schedule, as in `cuts`: a random gap, then every socket the app has through the proxy dies.
        await sleep(p.gap[0] + Math.random() * (p.gap[1] - p.gap[0]))
        proxy.cut()
        cuts += 1
      }
      run.cleared()
      await pairs.stop()
      return {
        cuts,
        tries: p.tries,
        ...figures,
        mayArriveRetries: listed(mayArrive),
        wrongAnswers: listed(wrongAnswers),
      }
    },
    cleanup: () => proxy.close(),
  })
}

/**
 * The publishes the broker (or the publisher, before writing) refuses, each kind with the code it must reject
 * with. `make(names)` gives exchange, routing key, body and options; ids are added by the scenario.
 */
const REFUSED = [
  {
    kind: 'missing-exchange',
    code: 'FST_AMQP_PUBLISHER_EXCHANGE_NOT_FOUND',
    make: (names) => ({ exchange: `${names.exchange}.missing` }),
  },
  {
    kind: 'internal-exchange',
    code: 'FST_AMQP_PUBLISHER_ACCESS_REFUSED',
    make: (names) => ({ exchange: internalExchange(names) }),
  },
  {
    kind: 'too-large',
    code: 'FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE',
    make: (_names, p) => ({ pad: 'x'.repeat(p.maxMessageBytes + 1) }),
  },
  {
    kind: 'bad-expiration',
    code: 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES',
    make: () => ({ options: { expiration: 'soon' } }),
  },
  {
    kind: 'foreign-user-id',
    code: 'FST_AMQP_PUBLISHER_INVALID_PROPERTIES',
    make: () => ({ options: { userId: `not-${new URL(SHARED_URL).username || 'guest'}` } }),
  },
]

const internalExchange = (names) => `${names.exchange}.internal`

/**
 * Ordinary publishes interleaved with ones the broker refuses (missing exchange: 404; internal exchange: 403;
 * body over the publisher's maxMessageBytes; expiration 'soon'; a userId other than the login), each refused
 * one issued together with an ordinary one before and after it, so they share the publisher's channel. Every
 * refused one must reject with its own code, at once (not a confirm timeout); every ordinary one, these and the
 * HTTP orders, must be confirmed and consumed: a refusal never takes its neighbours down with it.
 */
export async function refused(profile) {
  const p = profile.refused
  const figures = {
    refusedSent: 0,
    refusedAsExpected: 0,
    refusedTimedOut: 0,
    // Said on the error: err.mayHaveArrived === false.
    refusedSaidNotStored: 0,
    refusedArrived: 0,
    ordinarySent: 0,
    ordinaryRejected: 0,
    ordinaryTimedOut: 0,
  }
  const wrongCodes = {}
  const refusedIds = new Set()
  return runPipeline({
    name: 'refused',
    title: `Refused publishes (${REFUSED.length} kinds x ${p.perKind}) mixed into the traffic`,
    brokerUrl: SHARED_URL,
    rate: p.rate,
    recoverBound: p.recoverBound,
    app: { publisher: { maxMessageBytes: p.maxMessageBytes } },
    before: (run) =>
      run.admin.declare({
        exchanges: [{ name: internalExchange(run.names), type: 'topic', options: { internal: true } }],
      }),
    async fault(run) {
      const { names, tally } = run
      const publisher = run.app.publisher
      const ordinary = async () => {
        const id = randomUUID()
        figures.ordinarySent += 1
        tally.published += 1
        try {
          await publisher.publish(names.exchange, 'order.placed', { id, total: 1 }, { messageId: id })
          tally.recordResult(id, 202)
        } catch (err) {
          const code = codeOf(err)
          tally.recordResult(id, code)
          figures.ordinaryRejected += 1
          if (code === 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT') figures.ordinaryTimedOut += 1
        }
      }
      const refusal = async ({ kind, code, make }) => {
        const id = `refused-${kind}-${randomUUID().slice(0, 8)}`
        const { exchange = names.exchange, pad, options } = make(names, p)
        refusedIds.add(id)
        figures.refusedSent += 1
        try {
          await publisher.publish(exchange, 'order.placed', { id, total: 1, pad }, { ...options, messageId: id })
          count(wrongCodes, `${kind}: resolved`)
        } catch (err) {
          const got = codeOf(err)
          if (err?.mayHaveArrived === false) figures.refusedSaidNotStored += 1
          if (got === code) figures.refusedAsExpected += 1
          else count(wrongCodes, `${kind}: ${got} (expected ${code})`)
          if (got === 'FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT') figures.refusedTimedOut += 1
        }
      }
      const settled = []
      for (let i = 0; i < p.perKind; i += 1) {
        for (const kind of REFUSED) {
          // Issued in one tick: ordinary, refused, ordinary go out together on the publisher's channel.
          settled.push(ordinary(), refusal(kind), ordinary())
          await sleep(p.spacing) // load pacing: spreads the refusals over the HTTP traffic
        }
      }
      await Promise.all(settled)
      run.cleared()
      return { ...figures, wrongCodes: listed(wrongCodes) }
    },
    report(run) {
      figures.refusedArrived = [...refusedIds].filter((id) => run.tally.arrivals.has(id)).length
      return { refusedArrived: figures.refusedArrived, statusAfter: run.app.amqp.status }
    },
    cleanup: (run) => run.admin.deleteAll([], [internalExchange(run.names)]),
  })
}
