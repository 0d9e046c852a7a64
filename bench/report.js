// Renders docs/BENCHMARKS.md and the stdout summary from a results object (bench/results/*.json).
// `node bench/report.js bench/results/<file>.json` re-renders the doc from a saved run.
import { readFileSync, writeFileSync } from 'node:fs'

const RAW = 'amqplib'
const fmt = (value, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a'
const ratio = (value, base) => (Number.isFinite(value) && base > 0 ? value / base : Number.NaN)
const x = (value, digits = 2) => (Number.isFinite(value) ? `${value.toFixed(digits)}x` : 'n/a')
// Target figures get a third digit: 0.946 must not read as a 0.95 that failed.
const tx = (value) => x(value, 3)
const LABELS = {
  [RAW]: 'amqplib (raw)',
  'amqplib-mandatory': 'amqplib (raw, mandatory)',
  'amqplib-same-properties': 'amqplib (raw, our properties)',
  'rabbitmq-client-same-properties': 'rabbitmq-client (our properties)',
}
const label = (name) => LABELS[name] ?? name.replace(/^ours\b/, 'fastify-amqp')

const HTTP_LABELS = {
  ours: 'fastify-amqp `reply.publish`',
  amqplib: 'amqplib by hand (confirm awaited)',
  'amqplib-mandatory': 'amqplib by hand, mandatory',
  'amqplib-same-properties': "amqplib by hand, reply.publish's properties",
  ceiling: 'no publish (ceiling)',
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n')
}

function chart(title, yLabel, entries) {
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
function throughputRows(byName, unit = 'msg/s') {
  const base = byName[RAW]?.median
  return Object.entries(byName).map(([name, s]) => [
    label(name),
    `${fmt(s.median)} ${unit}`,
    `${fmt(s.min)} – ${fmt(s.max)}`,
    x(ratio(s.median, base)),
  ])
}

/**
 * The median of the per-round ratios a/b. Contenders run back to back within a round, so a round's
 * conditions (the broker's state, other load) are shared: pairing takes them out of the comparison.
 */
function pairedRatio(a, b) {
  const n = Math.min(a.samples?.length ?? 0, b.samples?.length ?? 0)
  if (n === 0) return Number.NaN
  const ratios = Array.from({ length: n }, (_, i) => a.samples[i] / b.samples[i]).sort((p, q) => p - q)
  return n % 2 ? ratios[(n - 1) / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2
}

function check(ok) {
  return ok ? 'met' : '**not met**'
}

/** Each issue target, with the measured figure: the doc and stdout both list them. */
export function targets(results) {
  const out = []
  // Whether the two min–max ranges of the rounds overlap: then the order of the medians may be noise.
  const overlap = (a, b) => (a.max >= b.min && b.max >= a.min ? 'overlap' : 'apart')
  /** fastify-amqp against `other`: at least `min` times its median (0.95 for raw amqplib, 1 to be ahead of a peer). */
  const versus = (target, ours, other, min = 0.95) => {
    if (!other) return
    const r = ratio(ours.median, other.median)
    out.push({
      target,
      figure: min === 1 ? `${tx(r)} of it` : tx(r),
      paired: tx(pairedRatio(ours, other)),
      ok: r >= min,
      spread: overlap(ours, other),
    })
  }
  const like = (title, byName) => {
    const ours = byName.ours
    versus(`${title}: >= 0.95x raw amqplib`, ours, byName[RAW])
    // Raw amqplib with the one property that is a delivery guarantee (an unroutable message comes back).
    versus(
      `${title}: >= 0.95x raw amqplib with mandatory (no silent drop, as fastify-amqp)`,
      ours,
      byName['amqplib-mandatory']
    )
    // The library's own cost, with the broker's cost of our properties on both sides.
    versus(
      `${title}: >= 0.95x raw amqplib sending our properties (the library's own cost)`,
      ours,
      byName['amqplib-same-properties']
    )
    for (const peer of ['amqp-connection-manager', 'rabbitmq-client', 'rabbitmq-client-same-properties']) {
      versus(`${title}: ahead of ${label(peer)}`, ours, byName[peer], 1)
    }
  }
  if (results.publish) {
    like('publish pipelined', results.publish.pipelined)
    like(`publish ${results.publish.concurrency} awaiters`, results.publish.awaiters)
  }
  if (results.consume) {
    for (const [prefetch, byName] of Object.entries(results.consume.byPrefetch))
      like(`consume prefetch ${prefetch}`, byName)
  }
  if (results.http) {
    const modes = results.http.modes
    const route = 'reply.publish route: >= 0.95x hand-written amqplib route'
    versus(route, modes.ours, modes.amqplib)
    versus(`${route} with mandatory (no silent drop, as reply.publish)`, modes.ours, modes['amqplib-mandatory'])
    versus(
      `${route} sending reply.publish's properties (the library's own cost)`,
      modes.ours,
      modes['amqplib-same-properties']
    )
  }
  if (results.reconnect?.consuming) {
    const m = results.reconnect.consuming.contenders.ours.median
    out.push({
      target: 'reconnect (cut -> consuming again) median < 500 ms',
      figure: `${fmt(m)} ms`,
      paired: '',
      ok: m < 500,
      spread: '',
    })
  }
  return out
}

export function renderMarkdown(results) {
  const { machine, versions, profile } = results
  const parts = []
  parts.push(`# Benchmarks

<!-- Generated by \`pnpm bench${profile.name === 'full' ? ' -- --full' : ''}\` (bench/run.js) from bench/results/${results.file}. Do not edit by hand: run it again. -->

fastify-amqp beside raw [amqplib](https://github.com/amqp-node/amqplib) used well and the peer libraries
[amqp-connection-manager](https://github.com/jwalton/node-amqp-connection-manager) and
[rabbitmq-client](https://github.com/cody-greene/node-rabbitmq-client), against the same broker in the same run.
Profile: **${profile.name}** (${profile.rounds} rounds; \`pnpm bench\` runs the quick profile, \`pnpm bench -- --full\` the full one).
Run ${results.startedAt} – ${results.finishedAt}.

## Machine

| | |
| --- | --- |
| CPU | ${machine.cores} × ${machine.cpuModel} |
| Memory | ${fmt(machine.memoryGB, 1)} GB |
| OS | ${machine.os} |
| Node.js | ${machine.node} |
| RabbitMQ | ${machine.rabbitmq} (from the server properties), on the same machine |
| Load average (1 min) at start / end | ${fmt(machine.loadStart, 1)} / ${fmt(machine.loadEnd, 1)} |

${
  Math.max(machine.loadStart, machine.loadEnd) > machine.cores
    ? `> **Noisy run:** the load average exceeded the ${machine.cores} cores (other processes were running). Absolute figures are low and spread is wide; ratios within one round-robin run are still comparable, but read them with the min–max columns.\n`
    : ''
}
## Versions

${table(
  ['library', 'version'],
  Object.entries(versions).map(([name, version]) => [name, version])
)}

## Method

- Every workload runs each contender in turn, round-robin: round *k* starts with the *k*-th contender, so none always
  runs first or last. The figure is the **median of ${profile.rounds} rounds**; min – max shows the spread. Ratios
  are to raw amqplib (× > 1 is faster).
- ${
    profile.isolated === false
      ? 'Every run of the publish and consume workloads ran in the bench process itself (`--in-process`).'
      : 'Every timed run of the publish and consume workloads runs in a **fresh Node.js process** (bench/run-one.js), so no contender pays for the garbage a previous one left in the heap or profits from its warm JIT; the bench process checks the queue after each run. (`--in-process` runs them all in the bench process instead.)'
  }
- Connections are opened before the clock starts and closed after it stops (for publishing, the channel too:
  fastify-amqp and rabbitmq-client open theirs lazily, so each sends one confirmed message first); an untimed
  warm-up pass runs every contender once first (it warms the broker: queue, message store).
- Messages: a JSON object of exactly 1 KiB, persistent (delivery mode 2), \`contentType: application/json\`, to a
  durable classic queue through the default exchange. Every contender serializes the object per message
  (\`Buffer.from(JSON.stringify(body))\` for amqplib and amqp-connection-manager with \`json: false\`; fastify-amqp and
  rabbitmq-client encode it themselves). fastify-amqp also sets \`mandatory\`, a 22-character \`messageId\` and a
  timestamp on every message (\`reply.publish\` also the request id as \`correlationId\`), which raw amqplib does not; the
  publish workloads also run raw amqplib and rabbitmq-client sending those same properties (*amqplib (raw, our
  properties)*, *rabbitmq-client (our properties)*, ids drawn from a random pool as ours are), to tell the library's
  own cost from the broker's cost of the properties and to compare like for like. Queues have unique names and are deleted after the run.
- **Publish with confirms**, ${fmt(results.publish?.messages)} messages per run. *Pipelined*: issue all, then await all
  confirms (raw amqplib: \`sendToQueue\` on a ConfirmChannel, waiting for \`'drain'\` when it returns false, then
  \`waitForConfirms()\`; the others: one promise per message, then \`Promise.all\`; fastify-amqp's \`buffer.maxMessages\` is raised to
  the run's size and \`confirmTimeout\` to 300 s: a publish's deadline counts from the call, so the last of a bulk load
  waits for all before it, longer than the 10 s default on a slow broker). *Awaiters*: ${fmt(results.publish?.concurrency)} concurrent loops,
  each awaiting its own confirm before publishing again (raw amqplib: per-message confirm callback wrapped in a
  promise). After each run the queue must hold exactly the number of messages sent; then it is purged.
- **HTTP to broker**: autocannon (${results.http?.connections} connections, ${results.http?.seconds} s, \`POST\` of the 1 KiB body) in the
  bench process against a Fastify server in a child process: \`reply.publish(...)\` then 202; the same route
  publishing by hand on a raw amqplib ConfirmChannel and awaiting the confirm (plain; with \`mandatory\`; with every
  property \`reply.publish\` sets: \`mandatory\`, \`messageId\`, timestamp, the request id as \`correlationId\`); a route
  that does not publish (the ceiling).
- **Consume with ack**: the queue is filled with ${fmt(results.consume?.messages)} messages (raw confirm channel, untimed), then
  one contender consumes them all with a no-op handler; timed from the call that starts consuming to the last
  handler call. Every contender parses the JSON body (fastify-amqp and rabbitmq-client do it for the handler; for
  amqplib and amqp-connection-manager the callback calls \`JSON.parse\`). fastify-amqp: \`app.consume\` (retry and
  dead-lettering off, concurrency = prefetch); raw amqplib: \`consume\` + \`ack\` per message; amqp-connection-manager:
  a channel \`setup\` with \`prefetch\` + \`consume\`;
  rabbitmq-client: \`createConsumer({ queue, qos: { prefetchCount } }, async () => {})\`. After close the queue
  must be empty (every message acked).
- **Reconnect**: a TCP fault proxy between client and broker cuts the connection; after ${QUIET(results)} of quiet
  (longer than fastify-amqp's \`reconnect.stableAfter\`), each cut is a fresh outage. *Cut → consuming again*: a
  marker message is sent straight to the broker right after the cut; the sample ends when the contender's handler
  receives it. Default options for every library. Raw amqplib does not reconnect.
- **Memory while the broker is down**: each contender in its own child process (\`--expose-gc\`), connected to a
  fault proxy that refuses every connection, publishes ${fmt(results.memory?.publishes)} messages at once; one second later, after a GC,
  we read \`process.memoryUsage()\`.
`)

  if (results.publish) {
    const p = results.publish
    parts.push(`## Publish with confirms

${p.messages.toLocaleString('en-US')} persistent 1 KiB JSON messages per run.

### Pipelined

${table(['library', 'median', 'min – max', 'vs raw amqplib'], throughputRows(p.pipelined))}

${chart(
  'Publish with confirms, pipelined (msg/s, higher is better)',
  'msg/s',
  Object.entries(p.pipelined).map(([n, s]) => [n, s.median])
)}

### ${p.concurrency.toLocaleString('en-US')} concurrent awaiters

${table(['library', 'median', 'min – max', 'vs raw amqplib'], throughputRows(p.awaiters))}

${chart(
  `Publish with confirms, ${p.concurrency} awaiters (msg/s, higher is better)`,
  'msg/s',
  Object.entries(p.awaiters).map(([n, s]) => [n, s.median])
)}
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
      `${s.non2xx + s.errors}`,
    ])
    parts.push(`## HTTP to broker

autocannon, ${h.connections} connections, ${h.seconds} s per run, \`POST /x\` with the 1 KiB JSON body.

${table(['route', 'median', 'min – max', 'p99 latency', 'vs amqplib route', 'non-2xx + errors'], rows)}

${chart(
  'HTTP POST -> broker, publishing routes (req/s, higher is better)',
  'req/s',
  Object.entries(h.modes)
    .filter(([mode]) => mode !== 'ceiling')
    .map(([mode, s]) => [mode, s.median])
)}
`)
  }

  if (results.consume) {
    const c = results.consume
    parts.push(`## Consume with ack

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
`)
    }
    if (c.leftAfterClose) {
      parts.push(
        `Messages still in the queue after a contender closed (not acked before close): ${Object.entries(
          c.leftAfterClose
        )
          .map(([name, list]) => `${label(name)} ${list.join(', ')}`)
          .join('; ')}.\n`
      )
    }
  }

  if (results.reconnect) {
    const r = results.reconnect
    parts.push('## Reconnect\n')
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
rejects the rest **at once** with \`FST_AMQP_BUFFER_FULL\` (load shedding, not loss: the caller knows); the "buffer 100k"
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

  parts.push(`## Notes

- **Keep message properties within 64 bytes.** RabbitMQ handles a message whose encoded basic properties fit in 64
  bytes markedly faster (likely an Erlang heap binary below that size, a shared off-heap one above). Measured here
  with raw amqplib on the HTTP route (1 KiB body, 50 connections): adding a 36-character \`type\` string cost
  nothing, a 45-character one 10-20% of the throughput, with p99 latency from ~28 ms to ~44 ms, whatever the body
  size (900 B to 3 KB). A UUID \`messageId\` plus a timestamp was enough to cross the line, which is most of why
  the \`reply.publish\` route ran at 0.69-0.75x of the hand-written one. fastify-amqp's defaults now stay under it
  (22-character ids; the request id in \`correlationId\` rather than in a header too).
- **Acks are coalesced** by the consumer: the acks made in one turn of the event loop go out as one \`multiple\` ack for
  the settled run at the head (single acks behind a slow handler, so it does not hold the prefetch window). That is
  why fastify-amqp consumes faster than raw amqplib acking each message.
- **A burst is written while the caller's loop runs.** amqplib queues a channel's frames in a stream that its
  multiplexer writes to the socket on the next \`setImmediate\`. A caller issuing 50,000 \`publish()\` calls in one
  synchronous loop (~250 ms) used to leave the broker idle until the loop ended (raw amqplib users avoid it by
  yielding at every \`'drain'\`, which a promise API cannot ask of them). Once 64 frames are buffered and the socket
  holds nothing unsent, fastify-amqp writes them at once (one \`writev\`), in order. Measured apart (each contender
  in a fresh process, six runs each, 50,000 messages): pipelined 0.85x -> 0.96x raw amqplib, 1,000 awaiters 0.90x ->
  0.99x. It reads two amqplib 2.x internals (the channel's buffer, the socket) and falls back to amqplib alone if they
  move; a test checks they are there.
- **The library's own cost** is the *amqplib (raw, our properties)* comparison in the targets: the same messages with
  the same properties, so only the library differs. fastify-amqp keeps every message (body, properties, promise)
  until its confirm, to send it again after a channel loss, where raw amqplib forgets it once written; in a CPU
  profile of 50,000 pipelined publishes that shows as more garbage-collection time. The broker, not the client, sets
  the pace (here it uses about one core while the client uses under half of one), so in a fresh process it does not
  show in throughput; in a process whose heap holds other work it does (see *Fresh process per run*).
- **What our properties cost the broker.** fastify-amqp sends \`mandatory\` (so an unroutable message is an error, not a
  silent drop), a \`messageId\` (so a re-send is recognisable) and a timestamp. Measured apart with raw amqplib
  (50,000 pipelined, each run in a fresh process, twelve interleaved rounds, ids from a random pool): \`mandatory\`
  alone 0.95x of plain raw amqplib, \`messageId\` + timestamp 0.99x, all three 0.95x. On the HTTP route the
  hand-written route with \`mandatory\` loses about as much against the plain one (see its table). So the broker's
  cost is almost all \`mandatory\`: on a routed message RabbitMQ 3.8+ keeps no per-message record for it on the
  channel (3.7 did), yet on 3.10.8 here it costs 5-9% in every measurement we made; we did not find where. It is
  kept by default: dropping it would trade those percent for silent loss (a publish that may be dropped can pass
  \`{ mandatory: false }\`). That is why the targets also compare with raw amqplib sending \`mandatory\`: raw amqplib
  used by someone who cannot afford a silent drop, which is who this library is for.
- **Where a peer publishes faster, and why.** rabbitmq-client has its own AMQP codec and writes each message's frames
  straight to the socket (corked), and by default sends no \`messageId\`, timestamp or \`mandatory\`;
  amqp-connection-manager and raw amqplib send none either. Sending our properties, rabbitmq-client is the
  *rabbitmq-client (our properties)* row: the like-for-like comparison.
- **Fresh process per run.** Until this report every run shared the bench process. Measured both ways on the same
  day (full counts, five rounds each), fastify-amqp against plain raw amqplib / raw amqplib sending our properties:
  pipelined 0.91x / 0.94x in the shared process, 0.94x / 1.00x in fresh ones; 1,000 awaiters 1.02x / 1.08x shared,
  0.95x / 1.04x fresh. So the pipelined bulk load, where fastify-amqp holds 50,000 messages at once until their
  confirms, pays for that in a heap that already holds other work; with 1,000 in flight (awaiters) it does not. A
  fresh process per run gives every contender the same start; \`--in-process\` reproduces the shared one.
- **Noise.** Differences of a few percent between contenders whose min – max ranges overlap are within this machine's noise.
`)

  const t = targets(results)
  if (t.length > 0) {
    parts.push(`## Targets (issue 7)

On this run. *Measured* is the ratio of the medians (what the target is judged on); *paired* is the median of
the per-round ratios (contenders run back to back within a round, so each round's conditions are shared).
The rows "with mandatory" compare with raw amqplib that, like fastify-amqp, cannot drop an unroutable message in
silence; the rows "our properties" / "reply.publish's properties" with raw amqplib sending exactly what we send
(the library's own cost); the rows against plain raw amqplib include the broker's cost of \`mandatory\` (Notes).
"Ranges" says whether fastify-amqp's min – max over the rounds overlaps the other's: when they overlap, the
order of the two medians is within this run's noise.

${table(
  ['target', 'measured', 'paired', '', 'ranges'],
  t.map((row) => [row.target, row.figure, row.paired, check(row.ok), row.spread])
)}
`)
  }
  return `${parts
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`
}

function QUIET(results) {
  return results.reconnect?.consuming ? '2.5 s' : 'a quiet period'
}

export function renderSummary(results) {
  const lines = [`bench (${results.profile.name}, median of ${results.profile.rounds} rounds, ratio to raw amqplib):`]
  const add = (title, byName, unit) => {
    const base = byName[RAW]?.median
    lines.push(
      `  ${title}: ${Object.entries(byName)
        .map(([name, s]) => `${label(name)} ${fmt(s.median)} ${unit}${base ? ` (${x(ratio(s.median, base))})` : ''}`)
        .join(', ')}`
    )
  }
  if (results.publish) {
    add('publish pipelined', results.publish.pipelined, 'msg/s')
    add(`publish ${results.publish.concurrency} awaiters`, results.publish.awaiters, 'msg/s')
  }
  if (results.http) {
    const h = results.http.modes
    const others = Object.entries(h)
      .filter(([mode]) => mode !== 'ours' && mode !== 'ceiling')
      .map(([mode, s]) => `${label(mode)} ${fmt(s.median)} (${x(ratio(h.ours.median, s.median))})`)
    lines.push(
      `  http: reply.publish ${fmt(h.ours.median)} req/s; hand-written routes (reply.publish's ratio to each): ${others.join(', ')}; no publish ${fmt(h.ceiling.median)}`
    )
  }
  if (results.consume) {
    for (const [prefetch, byName] of Object.entries(results.consume.byPrefetch))
      add(`consume prefetch ${prefetch}`, byName, 'msg/s')
  }
  if (results.reconnect?.consuming) {
    lines.push(
      `  reconnect (cut -> consuming): ${Object.entries(results.reconnect.consuming.contenders)
        .map(([name, s]) => `${label(name)} ${fmt(s.median)} ms`)
        .join(', ')}`
    )
  }
  if (results.reconnect?.channelOpen)
    lines.push(`  reconnect (cut -> channel open, ours): ${fmt(results.reconnect.channelOpen.median)} ms`)
  if (results.memory) {
    lines.push(
      `  memory (${results.memory.publishes} publishes, broker down): ${Object.entries(results.memory.contenders)
        .map(
          ([name, s]) =>
            `${label(name)} RSS ${fmt(s.rssMB.median)} MB, heap ${fmt(s.heapUsedMB.median)} MB, ${fmt(s.rejected.median)} rejected`
        )
        .join('; ')}`
    )
  }
  lines.push('  targets:')
  for (const row of targets(results)) {
    lines.push(
      `    ${row.ok ? 'met    ' : 'NOT MET'} ${row.target}: ${row.figure}${row.paired ? `, paired ${row.paired}` : ''}${row.spread ? ` (ranges ${row.spread})` : ''}`
    )
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2]
  if (!file) throw new Error('usage: node bench/report.js bench/results/<run>.json')
  const results = JSON.parse(readFileSync(file, 'utf8'))
  writeFileSync(new URL('../docs/BENCHMARKS.md', import.meta.url), renderMarkdown(results))
  console.log(renderSummary(results))
}
