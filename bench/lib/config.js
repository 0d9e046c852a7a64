// Profiles and command-line flags. `--full` = the issues' counts (about an hour per broker); default = quick (10-15 minutes per broker).
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
    quorumPrefetches: [100],
    latencyRates: [1_000, 5_000],
    latencySeconds: 5,
    scaleConsumers: [100, 2_500],
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
    quorumPrefetches: [100],
    latencyRates: [1_000, 5_000],
    latencySeconds: 15,
    scaleConsumers: [100, 1_000, 5_000],
  },
}

export const WORKLOADS = ['publish', 'http', 'consume', 'quorum', 'latency', 'work', 'reconnect', 'memory', 'scale']

/** What a second broker runs by default (--brokers=4,3.10): everything that compares contenders on the broker. */
const SECONDARY_WORKLOADS = ['publish', 'http', 'consume', 'quorum', 'latency', 'work']

/** The brokers test-broker knows (FASTIFY_AMQP_BROKER); the first of --brokers is the primary. */
export const BROKERS = ['4', '3.10']

/**
 * `node run.js [--full] [--only=publish,consume] [--rounds=N] [--in-process] [--brokers=4,3.10] [--secondary-only=...]`;
 * a bare `--` (from `pnpm bench -- --full`) is ignored. Brokers: FASTIFY_AMQP_BROKER (default 4) unless --brokers;
 * the full profile adds 3.10 as the second one. A second broker runs SECONDARY_WORKLOADS (of --only) unless --secondary-only.
 */
export function parseArgs(argv, env = process.env) {
  const flags = argv.filter((arg) => arg !== '--')
  const profileName = flags.includes('--full') ? 'full' : 'quick'
  // Each timed run in its own process unless --in-process (the earlier method, kept to compare).
  const profile = { ...PROFILES[profileName], name: profileName, isolated: !flags.includes('--in-process') }
  let only = WORKLOADS
  const primary = env.FASTIFY_AMQP_BROKER === '3' ? '3.10' : env.FASTIFY_AMQP_BROKER || '4'
  let brokers = profileName === 'full' ? [primary, ...BROKERS.filter((b) => b !== primary)] : [primary]
  let secondaryOnly
  for (const flag of flags) {
    if (flag.startsWith('--only=')) only = flag.slice(7).split(',')
    else if (flag.startsWith('--rounds=')) profile.rounds = Number(flag.slice(9))
    else if (flag.startsWith('--brokers=')) brokers = flag.slice(10).split(',')
    else if (flag.startsWith('--secondary-only=')) secondaryOnly = flag.slice(17).split(',')
    else if (flag !== '--full' && flag !== '--quick' && flag !== '--in-process') throw new Error(`unknown flag ${flag}`)
  }
  for (const name of [...only, ...(secondaryOnly ?? [])])
    if (!WORKLOADS.includes(name)) throw new Error(`unknown workload ${name}`)
  for (const broker of brokers) if (!BROKERS.includes(broker)) throw new Error(`unknown broker ${broker}`)
  if (brokers.length > 1 && env.AMQP_URL) throw new Error('AMQP_URL names one broker: it cannot go with --brokers')
  const secondary = secondaryOnly ?? only.filter((name) => SECONDARY_WORKLOADS.includes(name))
  return { profile, only, brokers, secondary }
}
