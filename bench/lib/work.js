// Work per message, counted rather than timed: the broker's in Erlang reductions (the VM's unit of
// work, as instructions are a CPU's: the same messages cost the same count whatever else the machine
// is doing) and the client's in CPU time. Read through `rabbitmqctl eval`, so only for a broker on
// this machine that rabbitmqctl can reach; it reads counters and changes nothing.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const RABBITMQCTL = process.env.RABBITMQCTL ?? 'rabbitmqctl'

// Every reduction the node did, and those of its AMQP 0-9-1 channel processes (where a publish is
// decoded and routed, and where `mandatory` costs its extra message).
const EXPRESSION = [
  '{Total, _} = erlang:statistics(exact_reductions),',
  'Channels = lists:sum([R || P <- rabbit_channel:list(), {reductions, R} <- [erlang:process_info(P, reductions)]]),',
  'io:format("~b ~b~n", [Total, Channels]).',
].join(' ')

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** { total, channels }: the counters of the broker at url, now. Rejects unless it is on this machine and rabbitmqctl reaches it. */
export async function brokerReductions(url) {
  // rabbitmqctl talks to the local node: for a broker elsewhere it would count the wrong one.
  if (!LOOPBACK.has(new URL(url).hostname)) throw new Error(`the broker at ${new URL(url).host} is not on this machine`)
  const { stdout } = await run(RABBITMQCTL, ['eval', EXPRESSION], { timeout: 30_000 })
  const [total, channels] = stdout.trim().split('\n')[0].split(' ').map(Number)
  if (!Number.isFinite(total) || !Number.isFinite(channels)) throw new Error(`unexpected rabbitmqctl output: ${stdout}`)
  return { total, channels }
}

/** Starts counting; stop(n) gives the work per message of what ran in between. */
export async function startMeter(url) {
  const broker = await brokerReductions(url)
  const cpu = process.cpuUsage()
  return {
    async stop(n) {
      const used = process.cpuUsage(cpu)
      const after = await brokerReductions(url)
      return {
        brokerReductions: (after.total - broker.total) / n,
        channelReductions: (after.channels - broker.channels) / n,
        clientMicros: (used.user + used.system) / n,
      }
    },
  }
}

/** brokerReductions(), or null when rabbitmqctl cannot reach the broker (the count is then left out). */
export async function brokerReductionsOrNull(url) {
  return brokerReductions(url).catch(() => null)
}
