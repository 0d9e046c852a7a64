import { type BrokerRuntime, brokerRuntime } from './runtime.js'

/**
 * CI runs the suite once per broker (scripts/test-legs.sh): the 4.x leg, the primary one, runs everything; the
 * 3.10 leg runs the shared-broker tests, the quick fault profile and whatever tells the versions apart, but not
 * the suites that spend minutes on disposable clusters testing behaviour the broker version does not change.
 * Such a suite passes this as tap's `skip`: on the primary leg it is false (run), on another leg a reason that
 * names the leg. FASTIFY_AMQP_ALL_LEGS=1 runs them on every leg.
 */
export function onlyOnPrimaryLeg(
  why: string,
  runtime: BrokerRuntime = brokerRuntime(),
  env: NodeJS.ProcessEnv = process.env
): string | false {
  if (runtime.name === '4' || env.FASTIFY_AMQP_ALL_LEGS === '1') return false
  return `4.x leg only, skipped on the ${runtime.name} leg: ${why} (FASTIFY_AMQP_ALL_LEGS=1 runs it here too)`
}
