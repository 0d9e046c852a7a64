// The sections of docs/BENCHMARKS.md for the classic-queue workloads: publish, HTTP, consume, reconnect, memory.

import { aheadNotes } from './report-ahead.js'
import { chart, fmt, label, ratio, table, throughputRows, x } from './report-format.js'
import { renderWork } from './report-work.js'

export const HTTP_LABELS = {
  ours: 'fastify-amqp `reply.publish`',
  amqplib: 'amqplib by hand (confirm awaited)',
  'amqplib-mandatory': 'amqplib by hand, mandatory',
  'amqplib-same-properties': "amqplib by hand, reply.publish's properties",
  ceiling: 'no publish (ceiling)',
}

/** The sentence for messages a consume run left in its queue (consume.js: not acked before close). */
export function leftAfterClose(byName) {
  const list = Object.entries(byName).map(([name, counts]) => `${label(name)} ${counts.join(', ')}`)
  return `Messages still in the queue after a contender closed (not acked before close): ${list.join('; ')}.\n`
}

/** The sections of `results` that ran, as markdown strings, in the report's order; afterConsume go before work. */
export function renderWorkloads(results, afterConsume = []) {
  const parts = []
  const on = results.machine.rabbitmq
  if (results.publish) {
    const p = results.publish
    parts.push(`## Publish with confirms (${on})

${p.messages.toLocaleString('en-US')} persistent 1 KiB JSON messages per run.

### Pipelined

${table(['library', 'median', 'min – max', 'vs raw amqplib'], throughputRows(p.pipelined))}

${chart(
  'Publish with confirms, pipelined (msg/s, higher is better)',
  'msg/s',
  Object.entries(p.pipelined).map(([n, s]) => [n, s.median])
)}

${aheadNotes(p.pipelined, 'publish')}

### ${p.concurrency.toLocaleString('en-US')} concurrent awaiters

${table(['library', 'median', 'min – max', 'vs raw amqplib'], throughputRows(p.awaiters))}

${chart(
  `Publish with confirms, ${p.concurrency} awaiters (msg/s, higher is better)`,
  'msg/s',
  Object.entries(p.awaiters).map(([n, s]) => [n, s.median])
)}

${aheadNotes(p.awaiters, 'publish')}
`)
  }

  if (results.http) {
    const h = results.http
    const base = h.modes.amqplib.median
    const rows = Object.entries(h.modes).map(([mode, s]) => [
      HTTP_LABELS[mode] ?? mode,
      `${fmt(s.median)} req/s`,
      `${fmt(s.min)} – ${fmt(s.max)}`,
      `${fmt(s.latencyP99)} ms`,
      x(ratio(s.median, base)),
      fmt(s.brokerReductions),
      `${s.non2xx + s.errors}`,
    ])
    parts.push(`## HTTP to broker (${on})

autocannon, ${h.connections} connections, ${h.seconds} s per run, \`POST /x\` with the 1 KiB JSON body.

${table(
  ['route', 'median', 'min – max', 'p99 latency', 'vs amqplib route', 'broker reductions / req', 'non-2xx + errors'],
  rows
)}

*Broker reductions*: the RabbitMQ node's work per completed request (see *Work per message*), median over the rounds,
counted rather than timed (lower is better).

${chart(
  'HTTP POST -> broker, publishing routes (req/s, higher is better)',
  'req/s',
  Object.entries(h.modes)
    .filter(([mode]) => mode !== 'ceiling')
    .map(([mode, s]) => [mode, s.median])
)}

${aheadNotes(h.modes, 'route', { labelOf: (mode) => HTTP_LABELS[mode] ?? mode })}
`)
  }

  if (results.consume) {
    const c = results.consume
    parts.push(`## Consume with ack (${on})

${c.messages.toLocaleString('en-US')} queued 1 KiB JSON messages per run, no-op handler.
`)
    for (const [prefetch, byName] of Object.entries(c.byPrefetch)) {
      parts.push(`### prefetch ${prefetch}

${table(['library', 'median', 'min – max', 'vs raw amqplib'], throughputRows(byName))}

${chart(
  `Consume with ack, prefetch ${prefetch} (msg/s, higher is better)`,
  'msg/s',
  Object.entries(byName).map(([n, s]) => [n, s.median])
)}

${aheadNotes(byName, 'consume')}
`)
    }
    if (c.leftAfterClose) parts.push(leftAfterClose(c.leftAfterClose))
  }

  parts.push(...afterConsume)
  if (results.work) parts.push(renderWork(results.work, on))

  if (results.reconnect) {
    const r = results.reconnect
    parts.push(`## Reconnect (${on})\n`)
    if (r.consuming) {
      const rows = Object.entries(r.consuming.contenders).map(([name, s]) => [
        label(name),
        `${fmt(s.median)} ms`,
        `${fmt(s.min)} – ${fmt(s.max)} ms`,
      ])
      parts.push(`Cut -> consuming again, ${r.consuming.cuts} cuts each, default options (lower is better).

${table(['library', 'median', 'min – max'], rows)}

${chart(
  'Reconnect: cut -> consuming again (ms, lower is better)',
  'ms',
  Object.entries(r.consuming.contenders).map(([n, s]) => [n, s.median])
)}

amqp-connection-manager waits \`reconnectTimeInSeconds\` (default: the 5 s heartbeat interval) before it reconnects;
rabbitmq-client backs off from \`retryLow\` (default 1 s).
`)
    }
    if (r.channelOpen) {
      parts.push(
        `fastify-amqp, cut -> managed channel open again (bench/reconnect.js), ${r.channelOpen.samples.length} cuts: median ${fmt(r.channelOpen.median)} ms, p90 ${fmt(r.channelOpen.p90)} ms.\n`
      )
    }
  }

  if (results.memory) {
    const m = results.memory
    const rows = Object.entries(m.contenders).map(([name, s]) => [
      label(name),
      `${fmt(s.rssMB.median)} MB`,
      `+${fmt(s.rssGrowthMB.median)} MB`,
      `${fmt(s.heapUsedMB.median)} MB`,
      `${fmt(s.arrayBuffersMB?.median)} MB`,
      `${fmt(s.rejected.median)}${Object.keys(s.reasons).length ? ` (${Object.keys(s.reasons).join(', ')})` : ''}`,
    ])
    parts.push(`## Memory while the broker is down

${m.publishes.toLocaleString('en-US')} publishes of 1 KiB issued at once while every connection is refused; figures one second later, after a GC.
fastify-amqp keeps at most \`buffer.maxMessages\` (default 10,000) / \`buffer.maxBytes\` (default 64 MiB) messages and
rejects the rest **at once** with \`FST_AMQP_PUBLISHER_BUFFER_FULL\` (load shedding, not loss: the caller knows); the "buffer 100k"
row raises \`maxMessages\` to 100,000, so the 64 MiB byte bound is what sheds. amqp-connection-manager buffers without
bound and never times out; rabbitmq-client holds each send until its \`acquireTimeout\` (20 s), then rejects it.
RSS also keeps what the burst itself allocated (promises, errors); heap + array buffers is what is still held.

${table(['library', 'RSS', 'RSS growth', 'heap used', 'array buffers', 'rejected at once'], rows)}

${chart(
  `RSS with ${m.publishes} publishes waiting, broker down (MB, lower is better)`,
  'MB',
  Object.entries(m.contenders).map(([n, s]) => [n, s.rssMB.median])
)}
`)
  }
  return parts
}
