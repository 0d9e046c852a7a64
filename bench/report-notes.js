// The "Notes" section of docs/BENCHMARKS.md: what the figures mean, measured apart (hand-kept prose).
export function renderNotes() {
  return `## Notes

- **Keep message properties within 64 bytes.** RabbitMQ handles a message whose encoded basic properties fit in 64
  bytes markedly faster (likely an Erlang heap binary below that size, a shared off-heap one above). Measured here
  with raw amqplib on the HTTP route (1 KiB body, 50 connections): adding a 36-character \`type\` string cost
  nothing, a 45-character one 10-20% of the throughput, with p99 latency from ~28 ms to ~44 ms, whatever the body
  size (900 B to 3 KB). A UUID \`messageId\` plus a timestamp was enough to cross the line, which is most of why
  the \`reply.publish\` route ran at 0.69-0.75x of the hand-written one. fastify-amqp's defaults now stay under it
  (22-character ids; the request id in \`correlationId\` rather than in a header too). Counted later in reductions
  (the *Work per message* method, 20,000 pipelined, five rounds), a 36-, 45- and 80-character \`type\` cost the
  broker the same (1,095-1,099 per message) while its CPU time per message rose (medians 78, 83, 91 µs, each
  with a spread of about 15%): what the line costs is outside the Erlang code's reductions (binary handling, likely).
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
  profile of 50,000 pipelined publishes that shows as more garbage-collection time. Counted (*Work per message*),
  fastify-amqp costs the broker the same reductions per message as raw amqplib sending the same properties, and its
  own process more CPU per message. Whether that shows in throughput depends on the machine: where the broker alone
  sets the pace (on a faster day here it used about one core, the client under half of one) it does not; where broker
  and client together fill both cores, as in this run, a pipelined bulk load pays it. It also shows in a process
  whose heap holds other work (see *Fresh process per run*).
- **What our properties cost the broker.** fastify-amqp sends \`mandatory\` (so an unroutable message is an error, not a
  silent drop), a \`messageId\` (so a re-send is recognisable) and a timestamp. Timed apart with raw amqplib (50,000
  pipelined, each run in a fresh process, twelve interleaved rounds): \`mandatory\` alone 0.95x of plain raw amqplib,
  \`messageId\` + timestamp 0.99x, all three 0.95x. *Work per message* shows where (compare *amqplib (raw)* with
  *amqplib (raw, mandatory)*): on RabbitMQ 3.10.8 a classic queue answers every \`mandatory\` message it takes with a
  \`mandatory_received\` message to the publishing channel's process, which ignores it (a leftover of 3.7's
  bookkeeping, kept for mixed-version clusters, as RabbitMQ's own source says). That is about 45 more reductions per
  message in the channel process (12% more there, 4-5% for the whole node, the same on the HTTP route), and more in
  CPU time, which also pays for passing the message; \`messageId\` and timestamp cost the broker about nothing. A
  quorum queue sends no such message: counted the same way (10,000 messages, three rounds), \`mandatory\` added under
  1% to the node's reductions there. It is kept by default: dropping it would trade those percent for silent loss (a
  publish that may be dropped can pass \`{ mandatory: false }\`). That is why the targets also compare with raw amqplib
  sending \`mandatory\`: raw amqplib used by someone who cannot afford a silent drop, who this library is for.
  Those counts are RabbitMQ 3.10.8's; the *Work per message* table above is from this run's broker, where the
  *amqplib (raw)* and *amqplib (raw, mandatory)* rows show whether it still pays for \`mandatory\`.
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
`
}
