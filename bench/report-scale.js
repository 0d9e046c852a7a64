// The "Scale: consumers in one app" section of docs/BENCHMARKS.md (results.scale, bench/scale.js).
import { fmt, table } from './report-format.js'

const KB = 1024

function phase(p, n) {
  if (!p) return 'n/a'
  // undeclaredAtFirst: queues not declared yet at the first send (sent again until they were); at the last: never.
  const first = p.undeclaredAtFirst ? ` (${fmt(p.undeclaredAtFirst)} queues declared after ready)` : ''
  const last = p.undeclaredAtLast ? `; ${fmt(p.undeclaredAtLast)} queues never declared` : ''
  return p.timedOut
    ? `**${fmt(p.handled)} of ${fmt(n)}** (timed out after ${fmt(p.ms / 1000, 1)} s${last})`
    : `${fmt(n)} of ${fmt(n)} in ${fmt(p.ms)} ms${first}`
}

/** The largest run, judged on the targets (5,000 consumers: ready < 10 s, heal < 5 s, < 30 KB each). */
export function scaleTargets(scale) {
  const run = scale.runs.at(-1)
  if (!run) return []
  const t = scale.targets
  const n = `${fmt(run.consumers)} consumers`
  const small =
    run.consumers < t.consumers ? ` (run with ${fmt(run.consumers)}, the target is for ${fmt(t.consumers)})` : ''
  return [
    {
      // ready() may resolve before every consumer subscribed: the target counts until all consumed too.
      target: `scale: ${n}, ready() and every one consuming < ${t.readyMs / 1000} s${small}`,
      figure: `${fmt(run.readyMs + run.consuming.ms)} ms (ready() ${fmt(run.readyMs)} ms)`,
      ok: run.ready && !run.consuming.timedOut && run.readyMs + run.consuming.ms < t.readyMs,
    },
    {
      target: `scale: ${n}, every one consuming${small}`,
      figure: `${fmt(run.consuming.handled)} of ${fmt(run.consumers)}`,
      ok: !run.consuming.timedOut,
    },
    {
      target: `scale: ${n}, all consuming again < ${t.healMs / 1000} s after a cut${small}`,
      figure: run.heal.timedOut ? `${fmt(run.heal.handled)} of ${fmt(run.consumers)}` : `${fmt(run.heal.ms)} ms`,
      ok: !run.heal.timedOut && run.heal.ms < t.healMs,
    },
    {
      target: `scale: ${n}, RSS < ${t.rssPerConsumerBytes / KB} KB per consumer${small}`,
      figure: `${fmt(run.rssPerConsumerBytes / KB, 1)} KB`,
      ok: run.rssPerConsumerBytes < t.rssPerConsumerBytes,
    },
  ]
}

export function renderScale(scale, on) {
  const rows = scale.runs.map((run) => [
    fmt(run.consumers),
    run.ready ? `${fmt(run.readyMs)} ms` : `**timed out** (${fmt(run.readyMs)} ms)`,
    phase(run.consuming, run.consumers),
    `${fmt(run.rssDeltaBytes / KB ** 2, 1)} MB`,
    `${fmt(run.rssPerConsumerBytes / KB, 1)} KB`,
    phase(run.heal, run.consumers),
    `${fmt(run.closeMs)} ms`,
  ])
  return `## Scale: consumers in one app (${on})

One Fastify app (its own process, \`--expose-gc\`) with N \`app.consume\` consumers, each on its own classic durable
queue (uniquely named, declared by the consumer, deleted afterwards), connected through the fault proxy. *ready*:
\`app.ready()\`, which declares and subscribes every consumer. *Consuming*: one message published to each queue
straight to the broker, until every handler ran. *RSS*: after that and a GC, minus the RSS of the same app before its
consumers were added (the connection's own cost included), over N. *After a cut*: the proxy cuts every connection, one
new message goes to each queue, until every handler ran again. A wait that times out reports how many of the N
handlers ran. Messages go \`mandatory\`: one that comes back (its queue not declared yet: \`ready()\` may resolve
before every consumer has subscribed) is sent again every 100 ms, so *consuming* is the time from \`ready()\` until
every consumer has declared, subscribed and handled one; the cell says how many queues were declared only after
\`ready()\`, or never. A connection holds at most \`channel_max\` (2,047) channels and each consumer has one, so past
\`channelsPerConnection\` (1,000) channels the app opens another consume connection: 5,000 consumers use five. \`ready()\`
waits up to \`startTimeout\` (5 s by default) for the subscriptions, then leaves the rest to subscribe as they can.

${table(['consumers', 'ready', 'consuming', 'RSS growth', 'RSS per consumer', 'after a cut, consuming again', 'close'], rows)}
`
}
