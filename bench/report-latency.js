// The "reply.publish latency at fixed rates" section of docs/BENCHMARKS.md (results.latency, bench/latency.js).
import { aheadNotes } from './report-ahead.js'
import { fmt, ratio, table, x } from './report-format.js'
import { HTTP_LABELS } from './report-workloads.js'

/** Kept below 95% of the offered rate: the route could not keep up, so its latencies are mostly queueing. */
export function saturated(s, rate) {
  return s.requestsPerSecond.median < 0.95 * Number(rate)
}

/** p99 of `ours` over that of each hand-written route, per rate: what the target (<= 1.1x) is judged on. */
export function p99Ratios(latency) {
  const out = []
  for (const [rate, byMode] of Object.entries(latency.byRate)) {
    for (const mode of ['amqplib', 'amqplib-same-properties']) {
      if (!byMode[mode] || !byMode.ours) continue
      const r = ratio(byMode.ours.p99.median, byMode[mode].p99.median)
      out.push({ rate, mode, ratio: r, saturated: [byMode.ours, byMode[mode]].some((s) => saturated(s, rate)) })
    }
  }
  return out
}

function chart(latency) {
  const rates = Object.keys(latency.byRate)
  const modes = Object.keys(latency.byRate[rates[0]] ?? {})
  const top = Math.max(1, ...rates.flatMap((rate) => modes.map((mode) => latency.byRate[rate][mode].p99.median)))
  const lines = modes.map(
    (mode) =>
      `  line [${rates.map((rate) => fmt(latency.byRate[rate][mode].p99.median, 1).replace(/,/g, '')).join(', ')}]`
  )
  return [
    '```mermaid',
    'xychart-beta',
    '  title "p99 latency at fixed request rates (ms, lower is better)"',
    `  x-axis [${rates.map((rate) => `"${rate} req/s"`).join(', ')}]`,
    `  y-axis "ms" 0 --> ${Math.ceil(top * 1.2)}`,
    ...lines,
    '```',
    '',
    `Lines, in order: ${modes.map((mode) => HTTP_LABELS[mode] ?? mode).join('; ')}.`,
  ].join('\n')
}

export function renderLatency(latency, on) {
  const parts = [
    `## reply.publish latency at fixed rates (${on})

autocannon at a fixed overall rate (\`overallRate\`, ${latency.connections} connections, ${latency.seconds} s per run, its correction
for coordinated omission on) against the HTTP servers of *HTTP to broker*: every route gets the same offered load, so
what differs is how long each request waits. Latencies in ms, median of the rounds of each percentile; *achieved* is
the request rate the route kept up with (below the offered rate, the route was saturated and the latencies are queueing).
`,
  ]
  for (const [rate, byMode] of Object.entries(latency.byRate)) {
    const base = byMode.amqplib?.p99.median
    const same = byMode['amqplib-same-properties']?.p99.median
    const rows = Object.entries(byMode).map(([mode, s]) => [
      HTTP_LABELS[mode] ?? mode,
      `${fmt(s.requestsPerSecond.median)} req/s${saturated(s, rate) ? ' (saturated)' : ''}`,
      fmt(s.p50.median, 1),
      `${fmt(s.p99.median, 1)} (${fmt(s.p99.min, 1)} – ${fmt(s.p99.max, 1)})`,
      fmt(s.max.median, 1),
      x(ratio(s.p99.median, base)),
      x(ratio(s.p99.median, same)),
      `${s.errors}`,
    ])
    const p99s = Object.fromEntries(Object.entries(byMode).map(([mode, s]) => [mode, s.p99]))
    parts.push(`### ${Number(rate).toLocaleString('en-US')} req/s offered

${table(
  [
    'route',
    'achieved',
    'p50',
    'p99 (min – max)',
    'max',
    'p99 vs amqplib route',
    "p99 vs amqplib route, reply.publish's properties",
    'errors',
  ],
  rows
)}

${aheadNotes(p99s, 'route', { lowerIsBetter: true, measure: 'p99', labelOf: (mode) => HTTP_LABELS[mode] ?? mode })}`)
  }
  parts.push(`${chart(latency)}\n`)
  return parts.join('\n')
}
