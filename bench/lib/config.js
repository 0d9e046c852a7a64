// Profiles and command-line flags. `--full` = the counts; default = quick (under ~5 minutes).
import { SHARED_URL } from '@fastify-amqp/test-broker'

/** The shared broker of this run: 4.x unless FASTIFY_AMQP_BROKER=3.10; AMQP_URL overrides. */
export const URL = SHARED_URL

const PROFILES = {
  quick: {
    rounds: 3,
    publishMessages: 5_000,
    awaiters: 1_000,
    consumeMessages: 5_000,
    prefetches: [100, 1_000],
    httpSeconds: 5,
    httpConnections: 50,
    reconnectCuts: 3,
    memoryPublishes: 100_000,
    warmupMessages: 1_000,
    workMessages: 5_000,
    workRounds: 1,
  },
  full: {
    rounds: 7,
    publishMessages: 50_000,
    awaiters: 1_000,
    consumeMessages: 50_000,
    prefetches: [100, 1_000],
    httpSeconds: 20,
    httpConnections: 50,
    reconnectCuts: 10,
    memoryPublishes: 100_000,
    warmupMessages: 5_000,
    workMessages: 20_000,
    workRounds: 3,
  },
}

export const WORKLOADS = ['publish', 'http', 'consume', 'work', 'reconnect', 'memory']

/** `node run.js [--full] [--only=publish,consume] [--rounds=N] [--in-process]`; a bare `--` (from `pnpm bench -- --full`) is ignored. */
export function parseArgs(argv) {
  const flags = argv.filter((arg) => arg !== '--')
  const profileName = flags.includes('--full') ? 'full' : 'quick'
  // Each timed run in its own process unless --in-process (the earlier method, kept to compare).
  const profile = { ...PROFILES[profileName], name: profileName, isolated: !flags.includes('--in-process') }
  let only = WORKLOADS
  for (const flag of flags) {
    if (flag.startsWith('--only=')) only = flag.slice(7).split(',')
    else if (flag.startsWith('--rounds=')) profile.rounds = Number(flag.slice(9))
    else if (flag !== '--full' && flag !== '--quick' && flag !== '--in-process') throw new Error(`unknown flag ${flag}`)
  }
  for (const name of only) if (!WORKLOADS.includes(name)) throw new Error(`unknown workload ${name}`)
  return { profile, only }
}
