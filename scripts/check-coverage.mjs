#!/usr/bin/env node
// Fails a package's test run when its coverage falls under the thresholds its own `test` script sets, on purpose:
//   tap && tap report json-summary && node ../../scripts/check-coverage.mjs --lines 98 --branches 90 --functions 97
// tap 21 knows only "100%" or "incomplete allowed", so .taprc allows incomplete coverage and this is the bar.
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

const METRICS = ['lines', 'statements', 'branches', 'functions']
const { values } = parseArgs({ options: Object.fromEntries(METRICS.map((m) => [m, { type: 'string' }])) })
const summary = JSON.parse(await readFile('.tap/report/coverage-summary.json', 'utf8')).total
// The bar is the 4.x leg's, which runs every test; the 3.10 leg skips the suites onlyOnPrimaryLeg keeps to 4.x
// (@fastify-amqp/test-broker), so there the figures are printed, not gated, unless FASTIFY_AMQP_ALL_LEGS=1 ran all.
const leg = process.env.FASTIFY_AMQP_BROKER || '4'
const gated = leg === '4' || process.env.FASTIFY_AMQP_ALL_LEGS === '1'

const under = []
for (const metric of METRICS) {
  if (values[metric] === undefined) continue
  const threshold = Number(values[metric])
  if (!Number.isFinite(threshold)) throw new TypeError(`--${metric}: not a number (${values[metric]})`)
  const { pct, covered, total } = summary[metric]
  const line = `${metric} ${pct}% (${covered}/${total}), threshold ${threshold}%`
  if (!gated) console.log(`coverage (not gated on the ${leg} leg, it skips the 4.x-only suites): ${line}`)
  else if (pct < threshold) under.push(line)
  else console.log(`coverage ok: ${line}`)
}
if (under.length > 0) {
  for (const line of under) console.error(`coverage UNDER its threshold: ${line}`)
  process.exit(1)
}
