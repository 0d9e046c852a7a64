// The quick profile of the fault-injection suite (CI). Each scenario drives real HTTP traffic
// through a Fastify app with the three plugins while a fault is injected, then checks lost === 0,
// the recovery bound and its own figures. `pnpm test:faults` runs the full profile.
import { describeBroker, onlyOnPrimaryLeg } from '@fastify-amqp/test-broker'
import t from 'tap'
import { PROFILES } from '../lib/profiles.js'
import { checksOf, createEnv, describe, SCENARIOS } from '../lib/suite.js'

const profile = PROFILES[process.env.FAULTS_PROFILE ?? 'quick']
const skip = new Set((process.env.FAULTS_SKIP ?? '').split(',').filter(Boolean))
t.comment(`fault suite on ${await describeBroker()}`)
const env = createEnv()
if (!skip.has('broker-kill') || !skip.has('alarm')) env.warmUp()
t.teardown(() => env.dispose())

for (const scenario of SCENARIOS) {
  const skipped =
    (skip.has(scenario.name) && 'FAULTS_SKIP') || (scenario.primaryLegOnly && onlyOnPrimaryLeg(scenario.primaryLegOnly))
  t.test(scenario.name, { skip: skipped }, async (t) => {
    const result = await scenario.run(profile, env)
    t.comment(describe(result))
    if (result.logTail) t.comment(`app log (last warnings/errors):\n${result.logTail}`)
    for (const [passed, message, knownBug] of checksOf(result)) {
      // A known, reported plugin bug: kept visible as a todo unless FAULTS_STRICT=1 makes it fail the run.
      const todo = knownBug && !passed && process.env.FAULTS_STRICT !== '1' ? knownBug : undefined
      t.ok(passed, todo ? `${message} [${knownBug}]` : message, todo ? { todo } : {})
    }
  })
}
