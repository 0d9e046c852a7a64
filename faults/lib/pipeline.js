import { openAdmin } from './admin.js'
import { buildApp, listen } from './app.js'
import { Tally } from './tally.js'
import { startTraffic } from './traffic.js'
import { allQueues, memoryLogger, pipelineNames, sleep, until, waitFor } from './util.js'

/**
 * One scenario run: builds the app (route + stage 1 + final consumer unless told otherwise), drives
 * HTTP traffic through it, lets the scenario inject its fault, waits until traffic flows again,
 * stops the traffic and waits until every confirmed order arrived (or the deadline), then counts.
 *
 * spec: name, brokerUrl (admin and cleanup), appUrl (what the app connects to; default brokerUrl),
 * app (extra buildApp options), rate, concurrency, warmup (confirmed and arrived before the fault),
 * fault(run) (injects, calls run.cleared() when the fault is over, returns extra figures),
 * before(run) / after(run) hooks, afterFault (ms of traffic after recovery), recoverBound (ms),
 * settleTimeout (ms without progress before giving up), delays (retry delays used, for cleanup), padding (bytes added to each order).
 */
export async function runPipeline(spec) {
  const started = Date.now()
  const names = pipelineNames(spec.name)
  const tally = new Tally()
  const log = memoryLogger('warn')
  const admin = await openAdmin(spec.brokerUrl)
  const run = { names, tally, log, admin, spec, app: null, port: 0, traffic: null, flow: null, clearedAt: 0 }
  const connectionName = `${names.exchange}-app`
  run.connectionName = connectionName

  run.cleared = () => {
    run.clearedAt = Date.now()
    run.flow = tally.flowAfter(run.clearedAt, spec.recoverBound * 3)
    // Observed by whoever awaits it; never an unhandled rejection if the scenario throws first.
    run.flow.catch(() => {})
    return run.clearedAt
  }
  // For scenarios that inject the fault several times: ms from `since` until traffic flows again.
  run.recovery = async (since) => (await tally.flowAfter(since, spec.recoverBound * 3)) - since

  const result = { scenario: spec.name, title: spec.title, ok: false, extra: {}, problems: [] }
  try {
    if (spec.before) await spec.before(run)
    const appOptions = {
      url: spec.appUrl ?? spec.brokerUrl,
      names,
      connectionName,
      logger: log.options,
      final: { onArrival: (m) => tally.recordArrival(m.messageId, m.redelivered) },
      ...spec.app,
      // In this process unless the scenario runs it elsewhere (stage1: false).
      stage1: spec.app?.stage1 === false ? false : { ...stage1Defaults(tally), ...spec.app?.stage1 },
    }
    run.app = await buildApp(appOptions)
    run.port = await listen(run.app)
    // The operator restarts the app: closed (which must end), then built again and listening on the same port.
    run.restart = async () => {
      await run.app.close()
      run.app = await buildApp(appOptions)
      await listen(run.app, run.port)
    }
    run.traffic = startTraffic({
      port: run.port,
      tally,
      rate: spec.rate,
      concurrency: spec.concurrency ?? 64,
      padding: spec.padding ?? 0,
    })

    const warm = spec.warmup ?? 100
    await until(
      () => tally.confirmed.size >= warm && tally.arrivals.size >= warm,
      60_000,
      `${warm} orders confirmed and arrived before the fault`
    )

    Object.assign(result.extra, (await spec.fault(run)) ?? {})
    if (run.flow === null) throw new Error(`scenario ${spec.name} never called run.cleared()`)
    const flowing = await run.flow.then(
      (at) => at,
      (err) => {
        result.problems.push(err.message)
        return null
      }
    )
    result.recoverMs = flowing === null ? null : flowing - run.clearedAt
    if (Array.isArray(result.extra.recoveries) && result.recoverMs !== null) {
      result.extra.recoveries.push(result.recoverMs)
      result.recoverMs = Math.max(...result.extra.recoveries)
    }
    result.recoverBound = spec.recoverBound

    // More traffic after recovery, then stop and let everything confirmed reach the end.
    const more = tally.confirmed.size + (spec.afterFault ?? 200)
    await waitFor(() => tally.confirmed.size >= more, 60_000)
    await run.traffic.stop()
    run.traffic = null
    if (spec.after) Object.assign(result.extra, (await spec.after(run)) ?? {})

    // Wait while the last consumer makes progress (a backlog may take minutes to drain); give up only
    // after `settleTimeout` ms without a single new arrival.
    const settleTimeout = spec.settleTimeout ?? 60_000
    const arrived = await untilStalled(
      () => tally.missing().length === 0,
      () => tally.arrivals.size,
      settleTimeout
    )
    if (!arrived)
      result.problems.push(
        `${tally.missing().length} confirmed orders still missing, no arrival for ${settleTimeout} ms`
      )
    // Let redeliveries in progress finish, so duplicates are counted once the pipeline is still.
    await waitFor(async () => (await isQuiet(run)) && (await isQuiet(run)), 30_000, 250)

    if (spec.report) Object.assign(result.extra, (await spec.report(run)) ?? {})
    result.counts = tally.summary()
    result.ok = result.counts.lost === 0 && result.recoverMs !== null && result.recoverMs <= spec.recoverBound
    if (result.counts.lost > 0)
      result.problems.push(
        `${result.counts.lost} confirmed orders never consumed (first: ${tally.missing().slice(0, 3).join(', ')})`
      )
  } catch (err) {
    result.problems.push(`scenario failed: ${err.stack ?? err}`)
    result.counts = tally.summary()
  } finally {
    if (result.problems.length > 0) {
      result.logTail = log.tail(30)
      if (run.app) Object.assign(result.extra, await diagnose(run))
    }
    await run.traffic?.stop().catch(() => {})
    await run.app?.close().catch(() => {})
    if (spec.cleanup) await spec.cleanup(run).catch(() => {})
    await admin.deleteAll(allQueues(names, spec.delays ?? [200]), [names.exchange])
    await admin.close()
    result.durationMs = Date.now() - started
  }
  return result
}

/** Resolves true once done() holds, false once progress() has not changed for `stall` ms. */
async function untilStalled(done, progress, stall) {
  let last = progress()
  let lastChange = Date.now()
  while (!done()) {
    if (Date.now() - lastChange > stall) return false
    await sleep(100)
    const now = progress()
    if (now !== last) {
      last = now
      lastChange = Date.now()
    }
  }
  return true
}

/**
 * What a failed run left behind: connections that claim to be up on a dead socket (the signature of
 * a known bug), and whether the orders not consumed still wait in the queues (a hang, not a loss).
 */
async function diagnose(run) {
  const stuckConnections = []
  for (const role of ['publish', 'consume']) {
    const connection = run.app.amqp.connection(role)
    if (connection.status === 'connected' && connection.model?.connection?.stream?.destroyed)
      stuckConnections.push(role)
  }
  const depths = await Promise.all([run.admin.depth(run.names.stage1), run.admin.depth(run.names.final)])
  return {
    stuckConnections,
    waitingInQueues: depths.reduce((sum, d) => sum + (d ?? 0), 0),
    health: JSON.stringify(run.app.amqp.health()),
  }
}

function stage1Defaults(tally) {
  return { retry: { attempts: 3, delay: 200 }, onHandled: (m) => tally.recordStage1(m.messageId) }
}

/** Nothing left to do: queues empty (retries waiting in delay queues too), no handler running, no publish outstanding. */
async function isQuiet(run) {
  const { app, admin, names, spec } = run
  if (app.publisher.pending > 0) return false
  if (app.consumers.some((c) => c.inFlight > 0)) return false
  const delayQueues = (spec.delays ?? [200]).map((ms) => `${names.stage1}.delay.${ms}`)
  const depths = await Promise.all([names.stage1, names.final, ...delayQueues].map((queue) => admin.depth(queue)))
  return depths.every((d) => d === 0 || d === null)
}
