import { spawnConsumer } from '../child.js'
import { runPipeline } from '../pipeline.js'
import { mb, SHARED_URL, sleep, until } from '../util.js'

/** Starts the stage-1 consumer process for a run; its handled ids count as stage-1 runs. */
function consumerProcess(run, children, options) {
  const child = spawnConsumer(
    {
      url: SHARED_URL,
      names: run.names,
      connectionName: `${run.connectionName}-consumer-${children.length + 1}`,
      ...options,
    },
    {
      log: run.log.lines,
      onStats: (stats) => {
        for (const id of stats.ids) run.tally.recordStage1(id)
      },
    }
  )
  children.push(child)
  return child
}

/**
 * The process running the stage-1 consumer SIGKILLed while handlers run and deliveries wait in its
 * prefetch window, then started again: everything it had not acked is redelivered to the new one.
 * Its handlers (10 x `work` ms) are slower than the traffic, so a backlog keeps the prefetch window
 * full: there are always unacked deliveries at the kill. Once traffic stops it works at full speed.
 */
export async function consumerKill(profile) {
  const p = profile.consumerKill
  const children = []
  const options = { work: p.work, concurrency: 10, prefetch: 50 }
  return runPipeline({
    name: 'consumer-kill',
    title: `Consuming process SIGKILLed mid-batch and restarted (${p.kills}x)`,
    brokerUrl: SHARED_URL,
    rate: p.rate,
    recoverBound: p.recoverBound,
    app: { stage1: false },
    async before(run) {
      await consumerProcess(run, children, options).ready
    },
    async fault(run) {
      const recoveries = []
      const inFlightAtKill = []
      for (let i = 0; i < p.kills; i += 1) {
        const victim = children.at(-1)
        const from = victim.stats?.handled ?? 0
        await until(
          () => victim.stats && victim.stats.handled >= from + 100 && victim.stats.inFlight >= 2,
          60_000,
          'the consumer process busy with a batch'
        )
        inFlightAtKill.push(victim.stats.inFlight)
        await victim.kill()
        const next = consumerProcess(run, children, options)
        if (i === p.kills - 1) run.cleared()
        const spawnedAt = Date.now()
        await next.ready
        if (i < p.kills - 1) recoveries.push(await run.recovery(spawnedAt))
      }
      return { recoveries, inFlightAtKill: Math.min(...inFlightAtKill) }
    },
    after() {
      children.at(-1).send({ type: 'work', ms: 0 })
    },
    report() {
      // Deliveries marked redelivered that the restarted processes handled: what the killed one left unacked.
      const restarted = children.slice(1)
      return { redeliveredToRestarted: restarted.reduce((sum, child) => sum + (child.stats?.redelivered ?? 0), 0) }
    },
    async cleanup() {
      for (const child of children) await child.close()
    },
  })
}

/**
 * A fast producer (HTTP at `rate`/s) and a slow consumer process (`concurrency` handlers of `work`
 * ms): the backlog piles up in the broker, not in either process. Samples rss and heap of both
 * sides; the consumer's prefetch bounds its side, the publisher's buffer bounds the other.
 */
export async function slow(profile) {
  const p = profile.slow
  const children = []
  const samples = { producer: [], consumer: [], pending: 0 }
  let sampler = null
  return runPipeline({
    name: 'slow-consumer',
    title: `Slow consumer (${p.concurrency} x ${p.work} ms) under a fast producer (${p.rate}/s, ${p.padding / 1024} KB) for ${p.duration / 1000} s`,
    brokerUrl: SHARED_URL,
    rate: p.rate,
    padding: p.padding,
    recoverBound: p.recoverBound,
    app: { stage1: false, publisher: { buffer: { maxMessages: 1_000 } } },
    async before(run) {
      await consumerProcess(run, children, { work: p.work, concurrency: p.concurrency, prefetch: 20 }).ready
    },
    async fault(run) {
      // This process ran the scenarios before this one: collect their garbage first (node --expose-gc, as the
      // suite runs), so the peak below is this scenario's heap, not what an earlier one left for the GC.
      globalThis.gc?.()
      sampler = setInterval(() => {
        const memory = process.memoryUsage()
        samples.producer.push({ rss: memory.rss, heapUsed: memory.heapUsed })
        samples.pending = Math.max(samples.pending, run.app.publisher.pending)
        const stats = children[0].stats
        if (stats) samples.consumer.push({ rss: stats.rss, heapUsed: stats.heapUsed })
      }, 250)
      await sleep(p.duration) // the fault schedule: the consumer stays slow this long
      clearInterval(sampler)
      const backlog = await run.admin.depth(run.names.stage1)
      // The consumer catches up at full speed: the backlog must drain and traffic keep flowing. A second consumer
      // process with more handlers drains beside it: 4 handlers alone took about a minute over the quick backlog.
      children[0].send({ type: 'work', ms: 0 })
      run.cleared()
      consumerProcess(run, children, { work: 0, concurrency: 32, prefetch: 200 })
      const peak = (list, key) => mb(Math.max(...list.map((s) => s[key])))
      const quarter = (list, key, last) => {
        const n = Math.max(1, Math.floor(list.length / 4))
        const part = last ? list.slice(-n) : list.slice(0, n)
        return mb(part.reduce((sum, s) => sum + s[key], 0) / part.length)
      }
      return {
        backlog,
        backlogMb: mb(backlog * p.padding),
        producerPeakRssMb: peak(samples.producer, 'rss'),
        producerPeakHeapMb: peak(samples.producer, 'heapUsed'),
        consumerPeakRssMb: peak(samples.consumer, 'rss'),
        consumerPeakHeapMb: peak(samples.consumer, 'heapUsed'),
        consumerHeapFirstQuarterMb: quarter(samples.consumer, 'heapUsed', false),
        consumerHeapLastQuarterMb: quarter(samples.consumer, 'heapUsed', true),
        producerHeapFirstQuarterMb: quarter(samples.producer, 'heapUsed', false),
        producerHeapLastQuarterMb: quarter(samples.producer, 'heapUsed', true),
        publisherPeakPending: samples.pending,
        heapBoundMb: p.heapBound,
      }
    },
    async cleanup() {
      clearInterval(sampler)
      for (const child of children) await child.close()
    },
  })
}
