import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { type Answer, HttpClient } from './http.js'
import { randomOrder } from './orders.js'
import { ProgressBar } from './progress.js'

const HELP = `Usage: pnpm --filter demo load [--orders 2000] [--concurrency 50] [--flaky 0.01] [--url http://127.0.0.1:3000] [--timeout 120]

Posts orders to a running demo from concurrent clients, then waits until every accepted order is processed.
  --orders       how many orders to post (default 2000)
  --concurrency  clients posting at once (default 50)
  --flaky        share of orders whose first processing attempt fails, to show retries (default 0.01)
  --url          the demo's base URL (default http://127.0.0.1:$PORT, PORT defaulting to 3000)
  --timeout      seconds to wait for processing before giving up (default 120)`

function options() {
  const { values } = parseArgs({
    options: {
      orders: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '50' },
      flaky: { type: 'string', default: '0.01' },
      url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT || 3000}` },
      timeout: { type: 'string', default: '120' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    process.exit(0)
  }
  const number = (name: string, raw: string, min: number): number => {
    const value = Number(raw)
    if (!Number.isFinite(value) || value < min) {
      process.stderr.write(`--${name} must be a number >= ${min}\n\n${HELP}\n`)
      process.exit(2)
    }
    return value
  }
  return {
    orders: Math.floor(number('orders', values.orders, 1)),
    concurrency: Math.floor(number('concurrency', values.concurrency, 1)),
    flaky: number('flaky', values.flaky, 0),
    url: values.url,
    timeoutMs: number('timeout', values.timeout, 1) * 1000,
  }
}

/** Runs `worker` on `concurrency` loops at once until each returns false. */
async function pool(concurrency: number, worker: () => Promise<boolean>): Promise<void> {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (await worker()) {
        // next task
      }
    })
  )
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

async function main(): Promise<void> {
  const opts = options()
  const client = new HttpClient(opts.url, opts.concurrency)
  try {
    await client.send('GET', '/health', undefined, 5_000)
  } catch (err) {
    process.stderr.write(
      `Cannot reach the demo at ${opts.url} (${(err as Error).message}).\nStart it first: pnpm --filter demo start (or scripts/demo.sh)\n`
    )
    process.exit(1)
  }

  // Post phase: every order is retried on 503 (broker unavailable) after the Retry-After the server gives,
  // except an order kept as unconfirmed (its message may still arrive: posting again would place it twice).
  const accepted: string[] = []
  const unconfirmed: string[] = []
  const statuses = new Map<number | string, number>()
  const latencies: number[] = []
  let next = 0
  const postBar = new ProgressBar('posting   ', opts.orders)
  const postStart = Date.now()
  await pool(opts.concurrency, async () => {
    const n = next++
    if (n >= opts.orders) return false
    const order = randomOrder(n, Math.random() < opts.flaky)
    for (let attempt = 1; attempt <= 5; attempt++) {
      const sent = Date.now()
      let answer: Answer | null = null
      try {
        answer = await client.send('POST', '/orders', order)
      } catch (err) {
        const key = (err as NodeJS.ErrnoException).code ?? 'error'
        statuses.set(key, (statuses.get(key) ?? 0) + 1)
      }
      if (answer) {
        latencies.push(Date.now() - sent)
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
        if (answer.status === 202) {
          accepted.push((answer.body as { id: string }).id)
          break
        }
        const kept = answer.body as { id?: string; status?: string } | undefined
        if (kept?.status === 'unconfirmed' && kept.id !== undefined) {
          unconfirmed.push(kept.id)
          break
        }
        if (answer.status !== 503) break
      }
      await sleep(200 * attempt)
    }
    postBar.update(accepted.length, `accepted`)
    return true
  })
  postBar.finish()
  const postSeconds = (Date.now() - postStart) / 1000

  // Process phase: poll until every accepted order reads `processed` (and every unconfirmed one whose message arrived).
  const tracked = [...accepted, ...unconfirmed]
  const pending = new Set(tracked)
  const processBar = new ProgressBar('processing', tracked.length)
  const deadline = Date.now() + opts.timeoutMs
  while (pending.size > 0 && Date.now() < deadline) {
    const ids = [...pending]
    let i = 0
    await pool(Math.min(opts.concurrency, 20), async () => {
      const id = ids[i++]
      if (id === undefined) return false
      const answer = await client.send('GET', `/orders/${id}`).catch(() => null)
      if ((answer?.body as { status?: string } | undefined)?.status === 'processed') pending.delete(id)
      return true
    })
    processBar.update(tracked.length - pending.size, 'processed')
    if (pending.size > 0) await sleep(250)
  }
  processBar.finish()
  const totalSeconds = (Date.now() - postStart) / 1000
  const stats = await client.send('GET', '/stats').catch(() => null)
  client.close()

  latencies.sort((a, b) => a - b)
  const processed = tracked.length - pending.size
  const lines = [
    '',
    `posted     ${opts.orders} orders from ${opts.concurrency} clients in ${postSeconds.toFixed(1)} s`,
    `accepted   ${accepted.length} (202)  ${Math.round(accepted.length / postSeconds)} orders/s`,
    ...(unconfirmed.length > 0
      ? [`unconfirmed ${unconfirmed.length} (503, kept: processed if their message arrived)`]
      : []),
    `answers    ${[...statuses].map(([status, count]) => `${status}: ${count}`).join(', ')}`,
    `latency    p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies.at(-1) ?? 0} ms`,
    `processed  ${processed} of ${tracked.length} in ${totalSeconds.toFixed(1)} s  ${Math.round(processed / totalSeconds)} orders/s end to end`,
  ]
  const queues = (stats?.body as { queues?: { queue: string; messages: number | null }[] } | undefined)?.queues
  if (queues) lines.push(`queues     ${queues.map((q) => `${q.queue}: ${q.messages ?? '?'}`).join(', ')}`)
  process.stdout.write(`${lines.join('\n')}\n`)
  if (pending.size > 0) {
    const stuck = unconfirmed.filter((id) => pending.has(id)).length
    process.stdout.write(
      `${pending.size} orders were not processed within ${opts.timeoutMs / 1000} s (${stuck} of them unconfirmed)\n`
    )
    process.exitCode = 1
  }
}

await main()
