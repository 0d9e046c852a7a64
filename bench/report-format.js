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
}
export const label = (name) => LABELS[name] ?? name.replace(/^ours\b/, 'fastify-amqp')

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n')
}
