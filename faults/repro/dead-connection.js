// Reproduces the "dead connection taken as up" bug (see KNOWN_BUGS in lib/suite.js): cuts the app's
// sockets every 0-150 ms until one of its ManagedConnections reports 'connected' on a destroyed
// socket for 3 s, then prints its state and last log lines. Usually within 20-60 s.
//   node faults/repro/dead-connection.js [maxMs=90000]
import { startFaultProxy } from '@fastify-amqp/test-broker'
import { openAdmin } from '../lib/admin.js'
import { buildApp } from '../lib/app.js'
import { allQueues, pipelineNames, SHARED_URL, sleep } from '../lib/util.js'

const proxy = await startFaultProxy({ port: Number(new URL(SHARED_URL).port || 5672) })
const names = pipelineNames('repro')
const lines = []
const app = await buildApp({
  url: proxy.url(SHARED_URL),
  names,
  connectionName: `${names.exchange}-app`,
  logger: { level: 'info', stream: { write: (line) => lines.push(line) } },
  stage1: { retry: { attempts: 3, delay: 200 } },
  final: { onArrival() {} },
})

const deadline = Date.now() + Number(process.argv[2] ?? 90_000)
const deadSocket = (role) => {
  const connection = app.amqp.connection(role)
  return connection.status === 'connected' && connection.model?.connection?.stream?.destroyed === true
}
let cuts = 0
let stuck = null
while (Date.now() < deadline && stuck === null) {
  await sleep(Math.random() * 150)
  proxy.cut()
  cuts += 1
  for (const role of ['publish', 'consume']) {
    if (!deadSocket(role)) continue
    await sleep(3_000) // still "connected" on a dead socket 3 s later: it will never reconnect
    if (deadSocket(role)) stuck = role
  }
}
console.log({ cuts, stuck, health: JSON.stringify(app.amqp.health()) })
if (stuck !== null) {
  console.log(`'close' listeners on the dead model: ${app.amqp.connection(stuck).model.listenerCount('close')}`)
  console.log(`last log lines of the ${stuck} connection:`)
  console.log(
    lines
      .filter((line) => line.includes(`"role":"${stuck}"`))
      .slice(-4)
      .join('')
  )
}
const admin = await openAdmin(SHARED_URL)
await Promise.race([app.close(), sleep(15_000)])
await admin.deleteAll(allQueues(names, [200]), [names.exchange])
await admin.close()
await proxy.close()
process.exit(stuck === null ? 0 : 1)
