// The second broker's column (--brokers=4,3.10): every comparable figure of the primary run beside the same
// workload's on the other broker, each with its ratio to raw amqplib (or the hand-written route) there.
import { fmt, label, ratio, table, throughputSets, x } from './report-format.js'
import { HTTP_LABELS } from './report-workloads.js'

/** [{ key, workload, name, value, unit, vs }] of every workload in a broker's results that has them. */
function figures(r) {
  const out = []
  const add = (workload, byName, unit, pick = (s) => s.median, labelOf = label) => {
    for (const [name, s] of Object.entries(byName)) {
      const value = pick(s)
      const vs = ratio(value, pick(byName.amqplib ?? {}))
      out.push({ key: `${workload}|${name}`, workload, name: labelOf(name), value, unit, vs })
    }
  }
  for (const [title, byName] of throughputSets(r)) add(title, byName, 'msg/s')
  if (r.http) add('HTTP route', r.http.modes, 'req/s', undefined, routeLabel)
  if (r.latency) {
    for (const [rate, byMode] of Object.entries(r.latency.byRate))
      add(`p99 latency at ${rate} req/s`, byMode, 'ms', (s) => s?.p99?.median, routeLabel)
  }
  if (r.work && !r.work.skipped) {
    add('broker reductions / published msg', r.work.publish, '', (s) => s?.brokerReductions?.median)
    add('client CPU µs / published msg', r.work.publish, 'µs', (s) => s?.clientMicros?.median)
  }
  return out
}

const routeLabel = (mode) => HTTP_LABELS[mode] ?? mode
const figure = (f) => `${fmt(f.value, f.unit === 'ms' ? 1 : 0)}${f.unit ? ` ${f.unit}` : ''}`

export function renderBrokers(results) {
  const failed = (results.failedBrokers ?? []).map(
    ({ broker, error }) => `The run on broker ${broker} failed, so its column is left out: ${error}.\n`
  )
  if (!results.secondaries?.length) return failed.join('\n')
  const primary = figures(results)
  const parts = [...failed]
  for (const other of results.secondaries) {
    const theirs = new Map(figures(other).map((f) => [f.key, f]))
    const rows = primary
      .filter((f) => theirs.has(f.key))
      .map((f) => {
        const t = theirs.get(f.key)
        return [f.workload, f.name, figure(f), x(f.vs), figure(t), x(t.vs)]
      })
    parts.push(`## ${other.rabbitmq} beside ${results.machine.rabbitmq}

The same workloads on the machine's other shared broker, in the same \`pnpm bench\` invocation
(\`--brokers=${[results.broker, other.broker].join(',')}\`, ${other.startedAt} – ${other.finishedAt}), run after the primary's.
*vs raw* is the ratio to raw amqplib on that broker (for the HTTP rows the hand-written amqplib route; for latencies
and work, lower is better, so below 1 is ahead). The tables above are all from ${results.machine.rabbitmq}.

${table(['workload', 'library', results.machine.rabbitmq, 'vs raw', other.rabbitmq, 'vs raw'], rows)}
`)
  }
  return parts.join('\n')
}
