// Runs the fault-injection suite outside tap and writes docs/RELIABILITY.md from the results.
//   node run.js --profile full            (pnpm test:faults)
//   node run.js --profile quick
//   node run.js --only cuts,poison        (a subset; results kept, the doc left alone)
//   node run.js --from results/full.json [--merge results/full-partial.json]  (the doc again from saved runs)
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { describeBroker } from '@fastify-amqp/test-broker'
import { PROFILES } from './lib/profiles.js'
import { writeReliability } from './lib/report.js'
import { checksOf, createEnv, describe, SCENARIOS } from './lib/suite.js'

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    merge: { type: 'string' },
    profile: { type: 'string', default: 'full' },
    only: { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
  },
})
// --from results/full.json: write the doc again from a saved run, without running anything.
if (values.from) {
  const saved = JSON.parse(await readFile(values.from, 'utf8'))
  // --merge results/full-partial.json: scenarios re-run on their own replace those of the saved run.
  if (values.merge) {
    const partial = JSON.parse(await readFile(values.merge, 'utf8'))
    for (const result of partial.results) {
      saved.results = saved.results.map((r) => (r.scenario === result.scenario ? result : r))
      saved.notes = [
        ...(saved.notes ?? []),
        `${result.scenario}: from a re-run of that scenario alone, ${partial.date}`,
      ]
    }
  }
  console.log(`wrote ${await writeReliability(saved)} from ${values.from}`)
  process.exit(0)
}
const profile = PROFILES[values.profile]
if (!profile) throw new Error(`unknown profile ${values.profile}: ${Object.keys(PROFILES).join(', ')}`)
const only = values.only ? new Set(values.only.split(',')) : null
const selected = SCENARIOS.filter((s) => only === null || only.has(s.name))

const env = createEnv()
if (selected.some((s) => s.name === 'broker-kill' || s.name === 'alarm')) env.warmUp()
const broker = await describeBroker()
console.log(`fault suite on ${broker}`)
const started = Date.now()
const results = []
let failed = 0
try {
  for (const scenario of selected) {
    console.log(`\n=== ${scenario.name} (${profile.name})`)
    const result = await scenario.run(profile, env)
    result.checks = checksOf(result).map(([passed, message, knownBug]) => ({
      passed,
      message,
      knownBug: passed ? undefined : knownBug,
    }))
    results.push(result)
    console.log(describe(result))
    for (const check of result.checks) {
      const label = check.passed ? 'ok    ' : check.knownBug ? 'FAILED (KNOWN BUG)' : 'FAILED'
      console.log(`  ${label} ${check.message}${check.knownBug ? `\n      ${check.knownBug}` : ''}`)
    }
    if (result.logTail && result.checks.some((c) => !c.passed)) console.log(`  log tail:\n${result.logTail}`)
    if (result.checks.some((c) => !c.passed)) failed += 1
  }
} finally {
  await env.dispose()
}

const run = {
  profile: profile.name,
  date: new Date().toISOString(),
  durationMs: Date.now() - started,
  machine: `${availableParallelism()} cores, Node ${process.version}`,
  broker,
  results,
}
const dir = new URL('./results/', import.meta.url)
await mkdir(dir, { recursive: true })
await writeFile(new URL(`${profile.name}${only ? '-partial' : ''}.json`, dir), `${JSON.stringify(run, null, 2)}\n`)
if (only === null && !values['no-doc']) {
  const path = await writeReliability(run)
  console.log(`\nwrote ${path}`)
}
console.log(`\n${results.length - failed}/${results.length} scenarios passed in ${Math.round(run.durationMs / 1000)} s`)
process.exitCode = failed > 0 ? 1 : 0
