// Runs one timed contender run in a fresh Node process (run-one.js) and returns its result.
// Every contender starts from the same clean heap: a run no longer pays for the garbage, or
// inherits the JIT state, of whichever contender ran before it in the same process.
import { spawn } from 'node:child_process'
import { once } from 'node:events'

const RUN_ONE = new URL('../run-one.js', import.meta.url).pathname

/** spec: { workload: 'publish' | 'consume', name, url, queue, n, mode?, concurrency?, prefetch? } */
export async function runIsolated(spec) {
  const child = spawn(process.execPath, [RUN_ONE, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk) => {
    out += chunk
  })
  const [code, signal] = await once(child, 'exit')
  if (code !== 0) throw new Error(`${spec.workload} ${spec.name}: run-one exited with ${signal ?? code}`)
  return JSON.parse(out.trim().split('\n').pop())
}
