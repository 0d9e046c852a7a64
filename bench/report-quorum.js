// The "Quorum queues" section of docs/BENCHMARKS.md (results.quorum, bench/quorum.js).
import { aheadNotes } from './report-ahead.js'
import { chart, table, throughputRows } from './report-format.js'
import { leftAfterClose } from './report-workloads.js'

const HEADER = ['library', 'median', 'min – max', 'vs raw amqplib']

function block(title, byName, kind) {
  return `### ${title}

${table(HEADER, throughputRows(byName))}

${chart(
  `${title} (msg/s, higher is better)`,
  'msg/s',
  Object.entries(byName).map(([n, s]) => [n, s.median])
)}

${aheadNotes(byName, kind)}`
}

export function renderQuorum(quorum, on) {
  const { publish, consume } = quorum
  const parts = [
    `## Quorum queues (${on})

The publish and consume workloads again, every contender on a quorum queue (\`x-queue-type: quorum\`, declared the
same way by the bench and by the consumers that declare their queue): ${publish.messages.toLocaleString('en-US')} persistent
1 KiB JSON messages per publish run, ${consume.messages.toLocaleString('en-US')} per consume run. A quorum queue writes every
message to its Raft log and confirms it once the log is synced, so the broker sets a pace of its own; the question is
whether each library keeps up with it as it does with a classic queue. (Consuming, raw amqplib has no properties to
match: every contender gets the same messages.)
`,
    block('Publish with confirms, pipelined, quorum queue', publish.pipelined, 'publish'),
    block(
      `Publish with confirms, ${publish.concurrency.toLocaleString('en-US')} awaiters, quorum queue`,
      publish.awaiters,
      'publish'
    ),
  ]
  for (const [prefetch, byName] of Object.entries(consume.byPrefetch))
    parts.push(block(`Consume with ack, prefetch ${prefetch}, quorum queue`, byName, 'consume'))
  if (consume.leftAfterClose) {
    // Seen on 4.3 with the two contenders that close the channel right after their last ack, without a
    // basic.cancel first; ours and rabbitmq-client cancel before they close. The count is read until it settles.
    parts.push(
      `${leftAfterClose(consume.leftAfterClose)}
(Counted once the queue's count stopped falling: a quorum queue applies acks through its log. Every handler ran
before the clock stopped, so the rates stand; the leftovers are redelivered to the next consumer.)
`
    )
  }
  return parts.join('\n')
}
