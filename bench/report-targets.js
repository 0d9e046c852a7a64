// The targets of the benchmark issues, checked against a run: the doc's "Targets" table and the summary's lines.
import { fmt, label, RAW, ratio, table, tx } from './report-format.js'
import { p99Ratios } from './report-latency.js'
import { scaleTargets } from './report-scale.js'
import { median } from './stats.js'

/**
 * The median of the per-round ratios a/b. Contenders run back to back within a round, so a round's
 * conditions (the broker's state, other load) are shared: pairing takes them out of the comparison.
 */
function pairedRatio(a, b) {
  const n = Math.min(a.samples?.length ?? 0, b.samples?.length ?? 0)
  return median(Array.from({ length: n }, (_, i) => a.samples[i] / b.samples[i]))
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
      figure: min === 1 && !target.includes('>=') ? `${tx(r)} of it` : tx(r),
      paired: tx(pairedRatio(ours, other)),
      ok: r >= min,
      spread: overlap(ours, other),
    })
  }
  // Issue 7: >= 0.95x raw amqplib (plain, with mandatory); issue 18: >= 1.0x raw amqplib sending the same properties,
  // which consuming is plain raw amqplib (every contender gets the same messages), and ahead of the peers.
  const like = (title, byName, kind = 'publish') => {
    const ours = byName.ours
    if (kind === 'consume') versus(`${title}: >= 1.0x raw amqplib (same messages)`, ours, byName[RAW], 1)
    else versus(`${title}: >= 0.95x raw amqplib`, ours, byName[RAW])
    // Raw amqplib with the one property that is a delivery guarantee (an unroutable message comes back).
    versus(
      `${title}: >= 0.95x raw amqplib with mandatory (no silent drop, as fastify-amqp)`,
      ours,
      byName['amqplib-mandatory']
    )
    // The library's own cost, with the broker's cost of our properties on both sides.
    versus(
      `${title}: >= 1.0x raw amqplib sending our properties (the library's own cost)`,
      ours,
      byName['amqplib-same-properties'],
      1
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
      like(`consume prefetch ${prefetch}`, byName, 'consume')
  }
  if (results.quorum) {
    const { publish, consume } = results.quorum
    like('quorum publish pipelined', publish.pipelined)
    like(`quorum publish ${publish.concurrency} awaiters`, publish.awaiters)
    for (const [prefetch, byName] of Object.entries(consume.byPrefetch))
      like(`quorum consume prefetch ${prefetch}`, byName, 'consume')
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
  if (results.latency) {
    for (const { rate, mode, ratio: r, saturated } of p99Ratios(results.latency)) {
      const what =
        mode === 'amqplib'
          ? 'the hand-written amqplib route'
          : "the hand-written route sending reply.publish's properties"
      out.push({
        target: `reply.publish p99 at ${rate} req/s: <= 1.1x ${what}`,
        // Past saturation the p99s are queueing in autocannon's connections, not the route's latency.
        figure: saturated ? `${tx(r)} (saturated)` : tx(r),
        paired: '',
        ok: r <= 1.1,
        spread: '',
      })
    }
  }
  if (results.work && !results.work.skipped) {
    for (const [title, side] of [
      ['classic', results.work.publish],
      ['quorum', results.work.publishQuorum],
    ]) {
      const ours = side?.ours?.clientMicros.median
      const raw = side?.['amqplib-same-properties']?.clientMicros.median
      if (ours === undefined || raw === undefined) continue
      const r = ratio(ours, raw)
      out.push({
        target: `client CPU per published message (${title} queue): <= raw amqplib sending our properties`,
        figure: `${fmt(ours, 1)} µs (${tx(r)})`,
        paired: '',
        ok: r <= 1,
        spread: '',
      })
    }
  }
  if (results.scale) for (const row of scaleTargets(results.scale)) out.push({ ...row, paired: '', spread: '' })
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

export function renderTargets(results) {
  const parts = []
  const t = targets(results)
  if (t.length > 0) {
    parts.push(`## Targets (issues 7 and 18, ${results.machine.rabbitmq})

On this run's primary broker, ${results.machine.rabbitmq}. *Measured* is the ratio of the medians (what the target is judged on); *paired* is the median of
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
  return parts.join('\n')
}
