import { topology } from '../app.js'
import { runPipeline } from '../pipeline.js'

const TITLES = {
  connection: 'Cluster: the node the app is connected to stopped (quorum queues)',
  leader: "Cluster: the node leading the app's quorum queues stopped, the app connected elsewhere",
}

/**
 * A 3-node cluster, the app given all three URLs, stage queues quorum (delivery limit 5). While
 * publishing and consuming, the node holding the app's publish connection is stopped; the app
 * must move to another node by itself, and every order confirmed before and after the stop must
 * come out at the end.
 */
export function cluster(profile, env) {
  return clusterStop('connection', profile, env)
}

/**
 * The same, but the queues are declared (so led) from another node than the app's, and that node is
 * stopped: the app's connections stay up while its queues elect new leaders, which on RabbitMQ 3.10
 * makes the broker nack publishes on the surviving channels for a while.
 */
export function clusterLeader(profile, env) {
  return clusterStop('leader', profile, env)
}

async function clusterStop(target, profile, env) {
  const p = profile.cluster
  const brokers = await env.cluster()
  // A scenario before may have left a node stopped: every node runs at the start.
  for (const [index, node] of brokers.nodes.entries()) if (!node.isRunning) await brokers.startNode(index)
  let confirmedBeforeStop = 0
  const stopConfirmed = new Set()
  const failover = { publish: {}, consume: {} }
  const ms = (role) =>
    failover[role].up !== undefined && failover[role].down !== undefined
      ? failover[role].up - failover[role].down
      : null
  return runPipeline({
    name: target === 'leader' ? 'cluster-leader' : 'cluster',
    title: TITLES[target],
    // The admin connection tries the nodes from the last: the app starts on the first.
    brokerUrl: [...brokers.urls].reverse(),
    appUrl: brokers.urls,
    rate: p.rate,
    recoverBound: p.recoverBound,
    app: { queueType: 'quorum', deliveryLimit: 5 },
    // Declared first through the admin's node (the last), so the leaders live away from the app's node.
    before: target === 'leader' ? (run) => run.admin.declare(topology(run.names, 'quorum', 5)) : undefined,
    async fault(run) {
      run.app.amqp.on('disconnected', (info) => {
        failover[info.role].down ??= Date.now()
      })
      run.app.amqp.on('connected', (info) => {
        if (failover[info.role].down !== undefined) failover[info.role].up ??= Date.now()
      })
      const connectedTo = await brokers.nodeOf(`${run.connectionName}:publish`)
      if (connectedTo === undefined) throw new Error('the app has no publish connection on any node')
      let index = connectedTo
      if (target === 'leader') {
        const leader = await brokers.leaderOf(run.names.stage1)
        if (leader === undefined) throw new Error(`no quorum leader found for ${run.names.stage1}`)
        if (leader === connectedTo) throw new Error(`the leader is on the app's node ${leader}: not the scenario`)
        index = leader
      }
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
      return {
        stoppedNode: index,
        appNode: connectedTo,
        confirmedBeforeStop,
        recoverWhileDownMs: whileDown,
        nodeRestartMs: restartedMs,
      }
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
