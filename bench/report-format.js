// Number formats, contender labels and the markdown table shared by the report's sections.

export const RAW = 'amqplib'
export const fmt = (value, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a'
export const ratio = (value, base) => (Number.isFinite(value) && base > 0 ? value / base : Number.NaN)
export const x = (value, digits = 2) => (Number.isFinite(value) ? `${value.toFixed(digits)}x` : 'n/a')
// Target figures get a third digit: 0.946 must not read as a 0.95 that failed.
export const tx = (value) => x(value, 3)
const LABELS = {
  [RAW]: 'amqplib (raw)',
  'amqplib-mandatory': 'amqplib (raw, mandatory)',
  'amqplib-same-properties': 'amqplib (raw, our properties)',
  'rabbitmq-client-same-properties': 'rabbitmq-client (our properties)',
  'ours-otel': 'fastify-amqp + OpenTelemetry SDK',
}
export const label = (name) => LABELS[name] ?? name.replace(/^ours\b/, 'fastify-amqp')

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n')
}

export function chart(title, yLabel, entries) {
  const values = entries.map(([, value]) => (Number.isFinite(value) ? Math.round(value) : 0))
  const top = Math.max(1, ...values)
  const step = 10 ** Math.floor(Math.log10(top)) / 2
  const ceiling = Math.max(1, Math.ceil(top / step) * step)
  return [
    '```mermaid',
    'xychart-beta',
    `  title "${title}"`,
    `  x-axis [${entries.map(([name]) => `"${label(name)}"`).join(', ')}]`,
    `  y-axis "${yLabel}" 0 --> ${ceiling}`,
    `  bar [${values.join(', ')}]`,
    '```',
  ].join('\n')
}

/** Rows of median, spread and ratio to raw amqplib for a { name: summary } map. */
export function throughputRows(byName, unit = 'msg/s') {
  const base = byName[RAW]?.median
  return Object.entries(byName).map(([name, s]) => [
    label(name),
    `${fmt(s.median)} ${unit}`,
    `${fmt(s.min)} – ${fmt(s.max)}`,
    x(ratio(s.median, base)),
  ])
}

/** [title, { name: summary }] of every msg/s table in a broker's results: publish, consume, quorum. */
export function throughputSets(r) {
  const out = []
  if (r.publish) {
    out.push(['publish pipelined', r.publish.pipelined])
    out.push([`publish ${r.publish.concurrency} awaiters`, r.publish.awaiters])
  }
  for (const [prefetch, byName] of Object.entries(r.consume?.byPrefetch ?? {}))
    out.push([`consume prefetch ${prefetch}`, byName])
  if (r.quorum) {
    out.push(['quorum publish pipelined', r.quorum.publish.pipelined])
    out.push([`quorum publish ${r.quorum.publish.concurrency} awaiters`, r.quorum.publish.awaiters])
    for (const [prefetch, byName] of Object.entries(r.quorum.consume.byPrefetch))
      out.push([`quorum consume prefetch ${prefetch}`, byName])
  }
  return out
}
