// Scale: one Fastify app with N `app.consume` consumers, each on its own classic durable queue (uniquely
// named, deleted afterwards in parallel), in a child process of its own (scale-child.js) behind a fault proxy.
// Measures: ready() time; RSS per consumer (RSS after all consumed, minus RSS before the consumers, over N);
// all consuming (one message published to each queue, straight to the broker: time until every handler
// ran); heal (proxy cut, one new message to each queue: time from the cut until every handler ran again).
// Every wait has a timeout, after which it reports how many of the N handlers ran: never hangs.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { startFaultProxy } from '@fastify-amqp/test-broker'
import { connect } from 'amqplib'
import { deleteQueuesInParallel, uniqueName } from './lib/broker.js'
import { log, sleep, within } from './lib/rounds.js'

/** Timeouts grow with N: a slow start must still be measured, a stuck one must not hang the run. */
const RESEND_MS = 100
const timeouts = (n) => ({ ready: 30_000 + 10 * n, consuming: 10_000 + 2 * n, heal: 20_000 + 4 * n })

/**
 * One message to each of the queues `indices`, straight to the broker (not through the proxy), confirmed;
 * mandatory, so a queue not declared (yet) is told apart from one nobody consumes: resolves to the indices
 * of the messages returned unroutable.
 */
async function publishTo(channel, prefix, indices, phase) {
  const returned = []
  const onReturn = (msg) => returned.push(Number(msg.fields.routingKey.slice(prefix.length + 1)))
  channel.on('return', onReturn)
  try {
    for (const i of indices) {
      const content = Buffer.from(JSON.stringify({ phase, i }))
      if (!channel.sendToQueue(`${prefix}.${i}`, content, { contentType: 'application/json', mandatory: true }))
        await once(channel, 'drain')
    }
    await channel.waitForConfirms()
  } finally {
    channel.off('return', onReturn)
  }
  return returned
}

/**
 * A message to every queue, sent again every RESEND_MS to those whose queue was not declared yet (ready() may
 * resolve before every consumer has subscribed), until `answer` (the child's count) settles. Returns how many
 * queues were undeclared at the first send and at the last.
 */
async function publishToAll(channel, prefix, n, phase, answer) {
  let settled = false
  answer.then(
    () => (settled = true),
    () => (settled = true)
  )
  let pending = await publishTo(
    channel,
    prefix,
    Array.from({ length: n }, (_, i) => i),
    phase
  )
  const first = pending.length
  while (pending.length > 0 && !settled) {
    await sleep(RESEND_MS)
    pending = await publishTo(channel, prefix, pending, phase)
  }
  return { undeclaredAtFirst: first, undeclaredAtLast: pending.length }
}

async function scaleOnce(url, n) {
  const proxy = await startFaultProxy({ port: Number(new URL(url).port || 5672) })
  const prefix = uniqueName(`scale${n}`)
  const limits = timeouts(n)
  const publisher = await connect(url, { clientProperties: { connection_name: 'bench-scale-publisher' } })
  const channel = await publisher.createConfirmChannel()
  // The consumers declare their queues; a message to a queue not declared is returned (mandatory) and counted.
  const app = fork(
    new URL('./scale-child.js', import.meta.url),
    [proxy.url(url), prefix, String(n), String(limits.ready)],
    {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }
  )
  const reply = async (msg, ms, what) => {
    const answer = within(once(app, 'message'), ms + 30_000, `scale ${n} ${what}`)
    if (msg !== undefined) app.send(msg)
    return (await answer)[0]
  }
  try {
    const started = await reply(undefined, limits.ready, 'ready')
    const result = { consumers: n, ready: started.ready, readyMs: started.readyMs }
    log(`scale ${n}: ready ${started.ready ? 'in' : 'TIMED OUT after'} ${started.readyMs.toFixed(0)} ms`)

    // Timed here, from before the first publish (or the cut) to the child's answer: a little more than what the
    // child saw (its clock starts when our message arrives), never less.
    let since = performance.now()
    const consuming = reply({ expect: 0, timeoutMs: limits.consuming }, limits.consuming, 'consuming')
    const undeclared = await publishToAll(channel, prefix, n, 0, consuming)
    const first = await consuming
    result.consuming = {
      handled: first.handled,
      ms: performance.now() - since,
      timedOut: first.handled < n,
      ...undeclared,
    }
    log(
      `scale ${n}: consuming ${first.handled} of ${n} after ${result.consuming.ms.toFixed(0)} ms` +
        (undeclared.undeclaredAtFirst
          ? ` (${undeclared.undeclaredAtFirst} queues not declared yet when ready() resolved, ${undeclared.undeclaredAtLast} at the end)`
          : '')
    )

    const { rss } = await reply({ rss: true }, 10_000, 'rss')
    result.rssDeltaBytes = rss - started.rssBaseline
    result.rssPerConsumerBytes = result.rssDeltaBytes / n
    log(
      `scale ${n}: RSS +${(result.rssDeltaBytes / 2 ** 20).toFixed(1)} MB, ${(result.rssPerConsumerBytes / 1024).toFixed(1)} KB per consumer`
    )

    const healed = reply({ expect: 1, timeoutMs: limits.heal }, limits.heal, 'heal')
    since = performance.now()
    proxy.cut()
    const undeclaredAfterCut = await publishToAll(channel, prefix, n, 1, healed)
    const heal = await healed
    result.heal = {
      handled: heal.handled,
      ms: performance.now() - since,
      timedOut: heal.handled < n,
      ...undeclaredAfterCut,
    }
    log(`scale ${n}: after a cut, consuming again ${heal.handled} of ${n} after ${result.heal.ms.toFixed(0)} ms`)

    const { closeMs } = await reply('close', 60_000, 'close')
    result.closeMs = closeMs
    return result
  } finally {
    if (app.exitCode === null) {
      const exited = once(app, 'exit')
      setTimeout(() => app.kill('SIGKILL'), 5_000).unref()
      await exited
    }
    await publisher.close()
    await proxy.close()
    const deleting = performance.now()
    await deleteQueuesInParallel(
      url,
      Array.from({ length: n }, (_, i) => `${prefix}.${i}`)
    )
    log(`scale ${n}: ${n} queues deleted in ${(performance.now() - deleting).toFixed(0)} ms`)
  }
}

export async function scaleBench({ url, profile }) {
  const results = {
    targets: { consumers: 5_000, readyMs: 10_000, healMs: 5_000, rssPerConsumerBytes: 30 * 1024 },
    runs: [],
  }
  for (const n of profile.scaleConsumers) results.runs.push(await scaleOnce(url, n))
  return results
}
