// Child of lib/isolated.js: one contender, one timed run, result as JSON on the last line of stdout.
// Connecting and closing stay outside the clock, as in the in-process runs.
import { consumeContenders } from './consume.js'
import { within } from './lib/rounds.js'
import { publishContenders } from './publish.js'

const spec = JSON.parse(process.argv[2])
const contenders = spec.workload === 'publish' ? publishContenders : consumeContenders
const contender = await contenders[spec.name](spec.url, spec.queue, spec.n, spec.prefetch)
let ms
try {
  if (spec.workload === 'consume') {
    ms = await within(contender.consume(), 300_000, spec.name)
  } else {
    const started = performance.now()
    const run = spec.mode === 'pipelined' ? contender.pipelined() : contender.awaiters(spec.concurrency)
    await within(run, 300_000, spec.name)
    ms = performance.now() - started
  }
} finally {
  await contender.close()
}
// Exit once written: a peer library's leftover timer must not stall the next run.
process.stdout.write(`${JSON.stringify({ ms, preloaded: contender.preloaded ?? 0 })}\n`, () => process.exit(0))
