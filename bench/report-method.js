// The "Method" section of docs/BENCHMARKS.md: how every workload is run (bench/*.js).
import { fmt } from './report-format.js'

function QUIET(results) {
  return results.reconnect?.consuming ? '2.5 s' : 'a quiet period'
}

export function renderMethod(results) {
  const { profile } = results
  return `## Method

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
  durable classic queue (a quorum queue in *Quorum queues*) through the default exchange. Every contender serializes the object per message
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
  property \`reply.publish\` sets: \`mandatory\`, \`messageId\`, timestamp, the request id as \`correlationId\`, built as
  one object literal per request, as a careful hand-written route would); a route that does not publish (the ceiling).
  Before and after each run the broker's reduction counter is read (*Work per message*), for its work per request.
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
- **Quorum queues**: the publish and consume (prefetch ${results.quorum?.consume ? Object.keys(results.quorum.consume.byPrefetch).join(', ') : 100})
  workloads again, the same way, on a quorum queue (\`x-queue-type: quorum\`) for every contender.
- **Latency at fixed rates**: the HTTP servers again (reply.publish, the hand-written amqplib routes plain and with
  reply.publish's properties), driven by autocannon at a fixed offered rate (\`overallRate\`); p50, p99 and max.
- **Scale**: one app with N \`app.consume\` consumers, each on its own queue, in a process of its own: ready time, RSS
  per consumer, time until all consume, and again after a cut (see its section).
- **Brokers**: each broker's workloads run in a child process of the bench (bench/run-broker.js) with
  \`FASTIFY_AMQP_BROKER\` set to it; the first of \`--brokers\` is the primary (every section but the last), the
  others fill the last section's second column.
- **Memory while the broker is down**: each contender in its own child process (\`--expose-gc\`), connected to a
  fault proxy that refuses every connection, publishes ${fmt(results.memory?.publishes)} messages at once; one second later, after a GC,
  we read \`process.memoryUsage()\`.
`
}
