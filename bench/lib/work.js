// Work per message, counted rather than timed: the broker's in Erlang reductions (the VM's unit of
// work, as instructions are a CPU's: the same messages cost the same count whatever else the machine
// is doing) and in CPU time, the client's in CPU time. Reductions are exact but count only the
// Erlang code's work, not all of the VM's (scheduling, memory, socket I/O); CPU time has it all but
// varies more. Read through `rabbitmqctl eval` on the run's shared node (test-broker's sharedRabbitmqctl:
// the 4.x node in its root, or the machine's 3.10) and /proc; it reads counters and changes nothing.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { SHARED_URL, sharedRabbitmqctl } from '@fastify-amqp/test-broker'

const run = promisify(execFile)

// Every reduction the node did, those of its AMQP 0-9-1 channel processes (where a publish is decoded
// and routed, and where `mandatory` costs its extra message), and the node's OS process id.
const EXPRESSION = [
  '{Total, _} = erlang:statistics(exact_reductions),',
  'Channels = lists:sum([R || P <- rabbit_channel:list(), {reductions, R} <- [erlang:process_info(P, reductions)]]),',
  'io:format("~b ~b ~s~n", [Total, Channels, os:getpid()]).',
].join(' ')

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/**
 * { total, channels, cpuMicros }: the broker's reduction counters and the CPU time (user + system) its
 * OS process has used, now. Rejects unless it is on this machine and rabbitmqctl reaches it.
 */
export async function brokerCounters(url) {
  // rabbitmqctl talks to the shared node: for another broker it would count the wrong one.
  if (!LOOPBACK.has(new URL(url).hostname) || url !== SHARED_URL)
    throw new Error(`the broker at ${new URL(url).host} is not this run's shared node`)
  const stdout = await sharedRabbitmqctl('eval', EXPRESSION)
  const [total, channels, pid] = stdout.trim().split('\n')[0].split(' ').map(Number)
  if (![total, channels, pid].every(Number.isFinite)) throw new Error(`unexpected rabbitmqctl output: ${stdout}`)
  return { total, channels, cpuMicros: await processCpuMicros(pid) }
}

let ticksPerSecond
/** CPU time (user + system, every thread) a process has used, in µs, from /proc; NaN where unreadable. */
async function processCpuMicros(pid) {
  try {
    ticksPerSecond ??= Number((await run('getconf', ['CLK_TCK'])).stdout.trim())
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // The fields after the command name (which may hold spaces) start at field 3; utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6
  } catch {
    return Number.NaN
  }
}

/** Starts counting; stop(n) gives the work per message of what ran in between. */
export async function startMeter(url) {
  const broker = await brokerCounters(url)
  const cpu = process.cpuUsage()
  return {
    async stop(n) {
      const used = process.cpuUsage(cpu)
      const after = await brokerCounters(url)
      return {
        brokerReductions: (after.total - broker.total) / n,
        brokerMicros: (after.cpuMicros - broker.cpuMicros) / n,
        channelReductions: (after.channels - broker.channels) / n,
        clientMicros: (used.user + used.system) / n,
      }
    },
  }
}

/** brokerCounters(), or null when rabbitmqctl cannot reach the broker (the counts are then left out). */
export async function brokerCountersOrNull(url) {
  return brokerCounters(url).catch(() => null)
}
