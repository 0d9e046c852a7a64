// The "Work per message" section of docs/BENCHMARKS.md and its summary lines (results.work, bench/work.js).
import { fmt, label, RAW, ratio, table, x } from './report-format.js'

function rows(side) {
  const base = side[RAW]
  return Object.entries(side).map(([name, w]) => [
    label(name),
    fmt(w.brokerReductions.median),
    x(ratio(w.brokerReductions.median, base?.brokerReductions.median)),
    fmt(w.channelReductions.median),
    fmt(w.brokerMicros?.median, 1),
    fmt(w.clientMicros.median, 1),
    x(ratio(w.clientMicros.median, base?.clientMicros.median)),
  ])
}

const HEADER = [
  'library',
  'broker reductions / msg',
  'reductions vs raw amqplib',
  'in channel processes',
  'broker CPU µs / msg',
  'client CPU µs / msg',
  'client CPU vs raw amqplib',
]

export function renderWork(work, on) {
  if (work.skipped) return `## Work per message (${on})\n\nNot measured in this run: ${work.skipped}.\n`
  return `## Work per message (${on})

The publish (pipelined) and consume (prefetch ${work.prefetch}) workloads again, ${work.messages.toLocaleString('en-US')} messages
per run, each run in a fresh process, median of ${work.rounds} round${work.rounds === 1 ? '' : 's'}, **counted instead of timed** (lower is better,
and the ratios here are work, so 1.05x means 5% *more* work than raw amqplib). *Broker reductions*: the work the
RabbitMQ node did per message, in Erlang reductions (the VM's unit of work: like an instruction count, the same
messages cost the same count however busy the machine is), read with \`rabbitmqctl eval\` before and after the run;
*in channel processes*: the part done by the AMQP channel processes, where each publish is decoded and routed.
Reductions count the Erlang code's work, not all of the VM's (scheduling, memory, socket I/O), so the broker's CPU time
(user + system of its OS process, from /proc) is shown too: it has everything, the node's idle work included, and
varies more. *Client CPU*: the contender's process, user + system, from the first message to the last confirm (or
handler call), JIT warm-up included. Reductions tell apart differences of a few percent that the timed rounds cannot.

### Publish with confirms, pipelined

${table(HEADER, rows(work.publish))}

### Consume with ack, prefetch ${work.prefetch}

${table(HEADER, rows(work.consume))}
${
  work.publishQuorum
    ? `
### Publish with confirms, pipelined, quorum queue

${table(HEADER, rows(work.publishQuorum))}

On a quorum queue the broker's work per message is mostly its Raft log (written, replicated, fsynced, then
applied), the same for every contender; the channel process's share is what the publishing library changes.
`
    : ''
}`
}

export function workSummary(work) {
  if (work.skipped) return [`  work per message: skipped (${work.skipped})`]
  const line = (title, side) =>
    `  ${title}: ${Object.entries(side)
      .map(
        ([name, w]) =>
          `${label(name)} broker ${fmt(w.brokerReductions.median)} red. ${fmt(w.brokerMicros?.median, 1)} µs, client ${fmt(w.clientMicros.median, 1)} µs`
      )
      .join(', ')}`
  const out = [line('work/msg publish', work.publish), line(`work/msg consume prefetch ${work.prefetch}`, work.consume)]
  if (work.publishQuorum) out.push(line('work/msg publish quorum', work.publishQuorum))
  return out
}
