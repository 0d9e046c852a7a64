import { runPipeline } from '../pipeline.js'

/**
 * A 3-node cluster, the app given all three URLs, stage queues quorum (delivery limit 5). While
 * publishing and consuming, the node holding the app's publish connection is stopped; the app
 * must move to another node by itself, and every order confirmed before and after the stop must
 * come out at the end.
 */
export async function cluster(profile, env) {
  const p = profile.cluster
  const brokers = await env.cluster()
  let confirmedBeforeStop = 0
  const stopConfirmed = new Set()
  const failover = { publish: {}, consume: {} }
  const ms = (role) =>
    failover[role].up !== undefined && failover[role].down !== undefined
      ? failover[role].up - failover[role].down
      : null
  return runPipeline({
    name: 'cluster',
    title: 'Cluster: the node the app is connected to stopped (quorum queues)',
    // The admin connection tries the nodes from the last: the app starts on the first.
    brokerUrl: [...brokers.urls].reverse(),
    appUrl: brokers.urls,
    rate: p.rate,
    recoverBound: p.recoverBound,
    app: { queueType: 'quorum', deliveryLimit: 5 },
    async fault(run) {
      run.app.amqp.on('disconnected', (info) => {
        failover[info.role].down ??= Date.now()
      })
      run.app.amqp.on('connected', (info) => {
        if (failover[info.role].down !== undefined) failover[info.role].up ??= Date.now()
      })
      const index = await brokers.nodeOf(`${run.connectionName}:publish`)
      if (index === undefined) throw new Error('the app has no publish connection on any node')
      confirmedBeforeStop = run.tally.confirmed.size
      for (const id of run.tally.confirmed) stopConfirmed.add(id)
      await brokers.stopNode(index)
      const downAt = run.cleared()
      // Does traffic flow again while the node is down (the point of a cluster)? Waited for up to the bound.
      let timer
      const whileDown = await Promise.race([
        run.flow.then(
          (at) => at - downAt,
          () => null
        ),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve(null), p.recoverBound)
        }),
      ])
      clearTimeout(timer)
      // If not, start the node again: whatever was confirmed must still come out (durability) and
      // the run goes on to count it; the recovery time then includes the node's restart.
      let restartedMs = null
      if (whileDown === null) {
        const from = Date.now()
        await brokers.startNode(index)
        restartedMs = Date.now() - from
      }
      return { stoppedNode: index, confirmedBeforeStop, recoverWhileDownMs: whileDown, nodeRestartMs: restartedMs }
    },
    report(run) {
      const lostBefore = [...stopConfirmed].filter((id) => !run.tally.arrivals.has(id)).length
      const after = [...run.tally.confirmed].filter((id) => !stopConfirmed.has(id))
      return {
        lostConfirmedBeforeStop: lostBefore,
        confirmedAfterStop: after.length,
        lostConfirmedAfterStop: after.filter((id) => !run.tally.arrivals.has(id)).length,
        failoverPublishMs: ms('publish'),
        failoverConsumeMs: ms('consume'),
        // Evidence of the broker's nack storm after a leader's node stops, and how it was absorbed.
        nackRecycles: countLines(run.log.lines, 'the broker nacked a publish'),
        republishRetries: countLines(run.log.lines, 'republish failed'),
      }
    },
  })
}

function countLines(lines, text) {
  return lines.filter((line) => line.includes(text)).length
}
