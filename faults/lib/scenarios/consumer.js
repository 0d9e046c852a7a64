import { randomUUID } from 'node:crypto'
import { startRoleProxy } from '@fastify-amqp/test-broker'
import { topology } from '../app.js'
import { runPipeline } from '../pipeline.js'
import { SHARED_URL, sleep, until, waitFor } from '../util.js'

const json = (value) => Buffer.from(JSON.stringify(value))
const stage1Of = (run) => run.app.consumers.find((c) => c.queue === run.names.stage1)

/** Poison that goes through the delay queue (a handler that throws) and poison that goes straight to the DLQ. */
const POISON = [
  { kind: 'handler-throws', reason: 'handler-error', body: () => ({ id: randomUUID(), total: -1 }) },
  { kind: 'schema', reason: 'schema', body: () => ({ id: 42, total: 'a lot' }) },
]
const SIDE_DELAY = 200

/**
 * An operator purges by deleting: the stage-1 dead-letter queue and its delay queue are deleted, again and
 * again, while good orders flow and poison keeps coming. Each wave of poison is published with both side queues
 * gone, so every retry and dead-letter republish first comes back unroutable; the consumer must declare the queue
 * again and carry on. Stage 1 runs one handler at a time, so a poison message stuck retrying its republish would
 * hold up every good order behind it. What a DLQ held is read before it is deleted: every dead letter is counted.
 */
export async function sideQueuesDeleted(profile) {
  const p = profile.sideQueues
  const injected = new Map()
  const letters = []
  let remade = 0
  return runPipeline({
    name: 'side-queues',
    title: `Dead-letter and delay queues deleted under load (${p.waves}x), poison and good orders flowing, one handler at a time`,
    brokerUrl: SHARED_URL,
    rate: p.rate,
    recoverBound: p.recoverBound,
    delays: [SIDE_DELAY],
    app: { stage1: { concurrency: 1, retry: { attempts: 3, delay: SIDE_DELAY } } },
    async fault(run) {
      const { admin, names } = run
      const dlq = `${names.stage1}.dlq`
      const delayQueue = `${names.stage1}.delay.${SIDE_DELAY}`
      for (let wave = 0; wave < p.waves; wave += 1) {
        // The previous wave is all in the DLQ, so the delay queue is empty: deleting it loses nothing.
        // (Quorum delay queues take no if-empty.)
        if (!(await admin.deleteQueue(delayQueue))) throw new Error(`could not delete ${delayQueue}`)
        letters.push(...(await deleteDrained(admin, dlq)))
        const ids = []
        for (let i = 0; i < p.perWave; i += 1) {
          for (const { kind, reason, body } of POISON) {
            const messageId = `poison-${kind}-${wave}-${i}-${randomUUID().slice(0, 8)}`
            injected.set(messageId, { kind, reason })
            ids.push(messageId)
            await admin.publishRaw(names.exchange, 'order.placed', [
              { content: json(body()), properties: { contentType: 'application/json', messageId } },
            ])
          }
        }
        // The DLQ deleted before this wave holds this wave's poison only, once the consumer made it again.
        await until(
          async () => ((await admin.depth(dlq)) ?? 0) >= ids.length,
          60_000,
          `wave ${wave}: ${ids.length} dead letters in a re-made ${dlq}`
        )
        remade += 1
      }
      run.cleared()
      return { waves: p.waves, injected: injected.size }
    },
    async after(run) {
      const dlq = `${run.names.stage1}.dlq`
      await until(
        async () => letters.length + ((await run.admin.depth(dlq)) ?? 0) >= injected.size,
        60_000,
        `${injected.size} dead letters in all`
      )
      letters.push(...(await run.admin.drain(dlq)))
      const seen = new Map()
      const wrongReason = []
      const wrongAttempts = []
      let goodDeadLettered = 0
      for (const letter of letters) {
        const id = letter.properties.messageId
        const headers = letter.properties.headers ?? {}
        seen.set(id, (seen.get(id) ?? 0) + 1)
        const expected = injected.get(id)
        if (expected === undefined) goodDeadLettered += 1
        else if (headers['x-death-reason'] !== expected.reason)
          wrongReason.push(`${expected.kind}: ${headers['x-death-reason']} (expected ${expected.reason})`)
        else if (expected.kind === 'handler-throws' && headers['x-attempts'] !== 3)
          wrongAttempts.push(`${id}: ${headers['x-attempts']}`)
      }
      return {
        remade,
        deadLettered: letters.length,
        poisonMissingFromDlq: [...injected.keys()].filter((id) => !seen.has(id)).length,
        poisonDuplicated: [...seen.values()].filter((n) => n > 1).length,
        wrongReason,
        wrongAttempts,
        goodDeadLettered,
        statusAfter: run.app.amqp.status,
      }
    },
  })
}

/** Reads every message of a classic queue, then deletes it if still empty; again if one came in between. */
async function deleteDrained(admin, queue) {
  const out = []
  for (let i = 0; i < 50; i += 1) {
    out.push(...(await admin.drain(queue).catch(() => [])))
    if (await admin.deleteQueue(queue, { ifEmpty: true })) return out
  }
  throw new Error(`${queue} never empty long enough to delete`)
}

/**
 * The main queue deleted and declared again while retries wait in its delay queue: a batch of flaky orders fails
 * its first try and waits out the delay; meanwhile the operator unbinds stage 1 (new orders are refused as
 * unroutable, FST_AMQP_PUBLISHER_UNROUTABLE), lets it empty, and deletes it. The delays run out while the queue is missing, so the broker's
 * move back from the delay queue fails; the operator then declares the queue and its binding again. Every flaky
 * order must still be handled. The app's consume connection is held (its bytes kept, none lost) from the delete
 * until the queue is back, or the consumer would declare the queue again within milliseconds: the window this
 * scenario needs. Runs on the disposable node, whose dead-letter worker retries after 1 s (the broker's default
 * is minutes).
 */
export async function mainQueueDeleted(profile, env) {
  const p = profile.mainQueue
  const node = await env.node()
  const proxy = await startRoleProxy({ port: Number(new URL(node.url).port) })
  const flaky = []
  const flakyRuns = new Map()
  return runPipeline({
    name: 'main-queue',
    title: `Main queue deleted and declared again while ${p.flaky} retries wait in its delay queue (missing for the end of their ${p.delay / 1000} s delay and ${p.missingFor / 1000} s more)`,
    brokerUrl: node.url,
    appUrl: proxy.url(node.url),
    rate: p.rate,
    recoverBound: p.recoverBound,
    delays: [p.delay],
    app: {
      heartbeat: 15,
      stage1: {
        retry: { attempts: 3, delay: p.delay },
        work(message) {
          if (!message.body.flaky) return
          flakyRuns.set(message.messageId, (flakyRuns.get(message.messageId) ?? 0) + 1)
          if (message.attempt === 1) throw new Error('flaky: fails its first try')
        },
      },
    },
    async fault(run) {
      const { admin, names, tally } = run
      const delayQueue = `${names.stage1}.delay.${p.delay}`
      const sentAt = Date.now()
      const batch = []
      for (let i = 0; i < p.flaky; i += 1) {
        const id = `flaky-${i}-${randomUUID().slice(0, 8)}`
        flaky.push(id)
        batch.push({
          content: json({ id, total: 1, flaky: true }),
          properties: { contentType: 'application/json', messageId: id },
        })
      }
      await admin.publishRaw(names.exchange, 'order.placed', batch)
      for (const id of flaky) {
        tally.published += 1
        tally.recordResult(id, 202)
      }
      await until(
        async () => (await admin.depth(delayQueue)) === p.flaky,
        p.delay / 2,
        `all ${p.flaky} flaky orders waiting in ${delayQueue}`
      )

      // Stage 1 gets nothing new, and hands on what it holds.
      await admin.unbind(names.stage1, names.exchange, 'order.placed')
      const idle = async () => (await admin.depth(names.stage1)) === 0 && stage1Of(run).inFlight === 0
      await until(async () => (await idle()) && (await sleep(200).then(idle)), 10_000, 'stage 1 idle')

      proxy.hold('consume')
      const deleted = await admin.deleteQueue(names.stage1, { ifEmpty: true })
      const deletedAt = Date.now()
      if (!deleted) throw new Error(`could not delete ${names.stage1} while empty`)
      const waitingAtDelete = await admin.depth(delayQueue)
      const expiredBeforeDelete = deletedAt >= sentAt + p.delay
      // The fault schedule: the queue stays missing until every delay has run out, and some more.
      await sleep(sentAt + p.delay + p.missingFor - Date.now())
      const missingMs = Date.now() - deletedAt
      const stage1Existed = (await admin.depth(names.stage1)) !== null

      await admin.declare(topology(names, 'classic'))
      proxy.restore()
      run.cleared()
      return { flaky: p.flaky, waitingAtDelete, expiredBeforeDelete, missingMs, stage1Existed }
    },
    async after(run) {
      await waitFor(() => flaky.every((id) => run.tally.arrivals.has(id)), 60_000)
      return {
        flakyArrived: flaky.filter((id) => run.tally.arrivals.has(id)).length,
        flakyRetried: flaky.filter((id) => (flakyRuns.get(id) ?? 0) >= 2).length,
      }
    },
    cleanup: () => proxy.close(),
  })
}

/**
 * The publish connection gives up for good (reconnect.maxAttempts; its sockets refused) while the consume
 * connection stays up: the consumers must stop rather than hand every message straight back in a hot loop, and
 * what they hold goes back to the queues. The operator restarts the app (its health says publishing is closed):
 * the new instance, on the same port, consumes everything left.
 */
export async function publishGivesUp(profile) {
  const p = profile.publishGone
  const proxy = await startRoleProxy({ port: Number(new URL(SHARED_URL).port) })
  let stage1Runs = 0
  return runPipeline({
    name: 'publish-gone',
    title: `Publish connection gives up for good while consuming (stopped ${p.stopped / 1000} s), the app restarted`,
    brokerUrl: SHARED_URL,
    appUrl: proxy.url(SHARED_URL),
    rate: p.rate,
    recoverBound: p.recoverBound,
    app: {
      reconnect: { initialDelay: 50, maxDelay: 200, maxAttempts: 3 },
      stage1: {
        async work() {
          stage1Runs += 1
          await sleep(p.work)
        },
      },
    },
    async fault(run) {
      proxy.refuse('publish')
      const publish = run.app.amqp.connection('publish')
      await until(() => publish.status === 'closed', 30_000, 'the publish connection given up')
      // Not awaited as a condition: if the consumers do not stop, what they do instead is measured below.
      await waitFor(() => run.app.consumers.every((c) => c.suspended !== null), 10_000)
      const consumeStatus = run.app.amqp.connection('consume').status
      const runsAtStop = stage1Runs
      // Another service goes on publishing to the exchange: orders pile up for the stopped consumers.
      const backlog = []
      for (let i = 0; i < p.backlog; i += 1) {
        const id = `backlog-${i}-${randomUUID().slice(0, 8)}`
        backlog.push({
          content: json({ id, total: 1 }),
          properties: { contentType: 'application/json', messageId: id },
        })
        run.tally.published += 1
      }
      await run.admin.publishRaw(run.names.exchange, 'order.placed', backlog)
      for (const { properties } of backlog) run.tally.recordResult(properties.messageId, 202)
      await sleep(p.stopped) // the fault schedule: how long the app stays without publishing
      const handledWhileStopped = stage1Runs - runsAtStop
      const stoppedConsumers = run.app.consumers.filter((c) => !c.active).length
      const waitingWhileStopped = (await run.admin.depth(run.names.stage1)) + (await run.admin.depth(run.names.final))

      proxy.restore()
      const restartedAt = Date.now()
      await run.restart()
      run.cleared()
      return {
        consumeStatus,
        stoppedConsumers,
        consumers: run.app.consumers.length,
        handledWhileStopped,
        waitingWhileStopped,
        backlog: p.backlog,
        restartMs: Date.now() - restartedAt,
      }
    },
    cleanup: () => proxy.close(),
  })
}
