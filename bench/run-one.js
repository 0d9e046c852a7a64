// Child of lib/isolated.js: one timed run in this fresh process, result as JSON on the last line of stdout.
import { timedConsumeRun } from './consume.js'
import { timedPublishRun } from './publish.js'

const spec = JSON.parse(process.argv[2])
const result =
  spec.workload === 'publish'
    ? await timedPublishRun(spec.name, spec.mode, spec)
    : await timedConsumeRun(spec.name, spec)
// Exit once written: a peer library's leftover timer must not stall the next run.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0))
