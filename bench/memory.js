// Memory while the broker is down: each contender in its own child process (clean heap, --expose-gc),
// behind a fault proxy in refuse mode, publishes n 1 KB messages; we read its RSS one second later.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { startFaultProxy } from '@fastify-amqp/test-broker'
import { uniqueName } from './lib/broker.js'
import { append, log, rotate, summarize, within } from './lib/rounds.js'

export const memoryContenders = ['ours', 'ours (buffer 100k)', 'amqp-connection-manager', 'rabbitmq-client']
const MB = 1024 * 1024

async function runOnce(name, proxyUrl, n) {
  const child = fork(new URL('./memory-child.js', import.meta.url), [name, proxyUrl, uniqueName('memory'), String(n)], {
    execArgv: ['--expose-gc'],
    stdio: 'inherit',
  })
  try {
    const [result] = await within(once(child, 'message'), 60_000, `memory ${name}`)
    return result
  } finally {
    if (child.exitCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
  }
}

export async function memoryBench({ url, profile }) {
  const proxy = await startFaultProxy({ port: Number(new URL(url).port || 5672) })
  proxy.refuse()
  const n = profile.memoryPublishes
  const runs = {}
  try {
    for (let round = 0; round < profile.rounds; round++) {
      for (const name of rotate(memoryContenders, round)) {
        const run = await runOnce(name, proxy.url(url), n)
        append(runs, name, run)
        log(
          `memory round ${round + 1}/${profile.rounds} ${name}: rss ${(run.after.rss / MB).toFixed(0)} MB ` +
            `(+${((run.after.rss - run.before.rss) / MB).toFixed(0)} MB), ${run.rejected}/${n} rejected ${JSON.stringify(run.reasons)}`
        )
      }
    }
  } finally {
    await proxy.close()
  }
  const results = { publishes: n, contenders: {} }
  for (const name of memoryContenders) {
    const list = runs[name]
    results.contenders[name] = {
      rssMB: summarize(list.map((run) => run.after.rss / MB)),
      rssGrowthMB: summarize(list.map((run) => (run.after.rss - run.before.rss) / MB)),
      heapUsedMB: summarize(list.map((run) => run.after.heapUsed / MB)),
      arrayBuffersMB: summarize(list.map((run) => run.after.arrayBuffers / MB)),
      rejected: summarize(list.map((run) => run.rejected)),
      reasons: list.at(-1).reasons,
    }
  }
  return results
}
