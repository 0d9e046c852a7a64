import { runPipeline } from '../pipeline.js'
import { sleep, until } from '../util.js'

/**
 * The disposable node SIGKILLed (no goodbye, no flush beyond what it had fsynced), left down for
 * `down` ms, started again with its data. Durable queues, persistent messages: every order that
 * got its 202 must come out at the end.
 */
export async function brokerKill(profile, env) {
  const p = profile.brokerKill
  const node = await env.node()
  return runPipeline({
    name: 'broker-kill',
    title: `Broker SIGKILLed and restarted (${p.kills}x, down ${p.down / 1000} s + boot)`,
    brokerUrl: node.url,
    rate: p.rate,
    recoverBound: p.recoverBound,
    async fault(run) {
      const recoveries = []
      const downtimes = []
      for (let i = 0; i < p.kills; i += 1) {
        const killedAt = Date.now()
        await node.kill()
        await sleep(p.down) // the fault schedule: the broker stays dead this long before it is started
        await node.start()
        downtimes.push(Date.now() - killedAt)
        if (i === p.kills - 1) run.cleared()
        else recoveries.push(await run.recovery(Date.now()))
      }
      return { recoveries, downtimeMs: Math.max(...downtimes) }
    },
  })
}

/**
 * A memory alarm on the disposable node: publishing connections are blocked (no confirms), the
 * consume connection keeps going. Held `hold` ms while publishing, then cleared.
 */
export async function alarm(profile, env) {
  const p = profile.alarm
  const node = await env.node()
  return runPipeline({
    name: 'alarm',
    title: `Memory alarm raised for ${p.hold / 1000} s while publishing`,
    brokerUrl: node.url,
    rate: p.rate,
    recoverBound: p.recoverBound,
    async fault(run) {
      const raisedAt = Date.now()
      await node.setMemoryAlarm(true)
      await until(() => run.app.amqp.status === 'blocked', 30_000, 'the app sees connection.blocked')
      const blockedMs = Date.now() - raisedAt
      const before = run.tally.confirmed.size
      await sleep(p.hold) // the fault schedule: the alarm stays raised this long
      const confirmedWhileBlocked = run.tally.confirmed.size - before
      try {
        await node.setMemoryAlarm(false)
      } finally {
        run.cleared()
      }
      return { blockedMs, confirmedWhileBlocked, rejectedDuringAlarm: run.tally.rejected.size }
    },
    // Whatever happens, the node must not stay alarmed for the next scenario.
    cleanup: () => node.setMemoryAlarm(false),
  })
}
