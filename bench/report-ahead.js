// One sentence for every row ahead of fastify-amqp in a table: who, by how much, and why (the reasons are what
// the Notes measured apart), or that the two ranges overlap so the order is within the run's noise.
import { label, ratio, x } from './report-format.js'

const PUBLISH_WHY = {
  amqplib:
    'sends no `mandatory`, `messageId` or timestamp (the broker pays for `mandatory`, see Notes) and forgets a message once written, where fastify-amqp keeps it until its confirm to send it again after a channel loss',
  'amqplib-mandatory':
    'sends no `messageId` or timestamp and forgets a message once written, where fastify-amqp keeps it until its confirm to send it again after a channel loss',
  'amqplib-same-properties':
    "the library's own cost: the same messages and properties, but fastify-amqp keeps every message (body, properties, promise) until its confirm, to send it again after a channel loss (more garbage to collect)",
  'amqp-connection-manager':
    'sends no `mandatory`, `messageId` or timestamp; it also keeps each message until confirmed, so the properties are most of the difference',
  'rabbitmq-client':
    'its own AMQP codec writes each message straight to the (corked) socket, and by default it sends no `mandatory`, `messageId` or timestamp',
  'rabbitmq-client-same-properties':
    'its own AMQP codec writes each message straight to the (corked) socket, and it keeps no message for sending again after a channel loss',
}

const CONSUME_WHY = {
  amqplib:
    'acks each message from the delivery callback with nothing in between; fastify-amqp runs each delivery through its handler pipeline (decode, concurrency limit, error handling) before the coalesced ack',
  'amqp-connection-manager': 'is amqplib underneath with the same bare callback as raw amqplib',
  'rabbitmq-client': 'decodes frames with its own codec and calls the handler with little around it',
}

const ROUTE_WHY = {
  amqplib: 'sends no `mandatory`, `messageId`, timestamp or `correlationId` and keeps nothing per message once written',
  'amqplib-mandatory': 'sends no `messageId`, timestamp or `correlationId` and keeps nothing per message once written',
  'amqplib-same-properties':
    "the library's own cost: the same properties, but reply.publish keeps each message until its confirm (to send it again after a channel loss) and runs the publisher's buffer and deadline bookkeeping",
}

const WHY = { publish: PUBLISH_WHY, consume: CONSUME_WHY, route: ROUTE_WHY }

/**
 * byName: { name: { median, min, max } }; kind: publish | consume | route; lowerIsBetter for latencies.
 * Returns markdown (one bullet per row ahead of `ours`), or '' when none is.
 */
export function aheadNotes(byName, kind, { lowerIsBetter = false, measure = 'median', labelOf = label } = {}) {
  const ours = byName.ours
  if (!ours) return ''
  const lines = []
  for (const [name, s] of Object.entries(byName)) {
    if (name === 'ours' || name === 'ceiling' || !Number.isFinite(s.median)) continue
    const ahead = lowerIsBetter ? s.median < ours.median : s.median > ours.median
    if (!ahead) continue
    const figure = `fastify-amqp's ${measure} at ${x(ratio(ours.median, s.median))} of its`
    const overlap = s.max >= ours.min && ours.max >= s.min
    const why = WHY[kind]?.[name] ?? 'no reason measured apart yet'
    lines.push(
      `- *${labelOf(name)}* is ahead (${figure}): ${why}.${overlap ? ' The min – max ranges overlap: within this run’s noise.' : ''}`
    )
  }
  return lines.length > 0 ? `Where another row is ahead:\n\n${lines.join('\n')}\n` : ''
}
