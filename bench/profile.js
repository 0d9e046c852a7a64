// CPU profile of fastify-amqp's hot paths: `node bench/profile.js [publish|pipelined|awaiters|consume] [messages] [contender]`
// (contender: ours by default; amqplib etc. to compare).
// Runs profile-target.js, which profiles the workload alone with the inspector (the same sampler as
// `node --cpu-prof`; profiles land in bench/results/profiles/, open them in Chrome DevTools), and prints
// self time by area (our packages, amqplib, fastify, node, GC) and the heaviest functions.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync } from 'node:fs'
import { openAdmin } from './lib/broker.js'
import { URL as AMQP_URL } from './lib/config.js'

const workloads = process.argv[2] ? [process.argv[2]] : ['publish', 'consume']
const n = Number(process.argv[3] ?? 50_000)
const contender = process.argv[4] ?? 'ours'
const dir = new URL('./results/profiles/', import.meta.url)
mkdirSync(dir, { recursive: true })

function area(url, name) {
  if (!url) return name.startsWith('(') ? name : '(native)'
  if (url.includes('/packages/publisher/')) return '@fastify-amqp/publisher'
  if (url.includes('/packages/consumer/')) return '@fastify-amqp/consumer'
  if (url.includes('/packages/connection/')) return '@fastify-amqp/connection'
  if (url.includes('/bench/')) return 'bench harness'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url)
  if (pkg) return pkg[1]
  if (url.startsWith('node:')) return 'node core'
  return url
}

export function summarizeProfile(profile, top = 25) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const idle = [...self.entries()]
    .filter(([id]) => byId.get(id).callFrame.functionName === '(idle)')
    .reduce((a, [, t]) => a + t, 0)
  const busy = total - idle
  const areas = new Map()
  const functions = new Map()
  for (const [id, time] of self) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame
    if (functionName === '(idle)') continue
    const a = area(url, functionName)
    areas.set(a, (areas.get(a) ?? 0) + time)
    const key = `${functionName || '(anonymous)'}  ${a}${url ? `:${url.split('/').pop()}:${lineNumber + 1}` : ''}`
    functions.set(key, (functions.get(key) ?? 0) + time)
  }
  // Inclusive time of our own functions (a function counted once per stack, so recursion does not double it).
  const inclusive = new Map()
  const parent = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  for (const [id, time] of self) {
    const seen = new Set()
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url, lineNumber } = byId.get(cur).callFrame
      if (!url.includes('/packages/')) continue
      const key = `${functionName || '(anonymous)'}  ${url.split('/packages/')[1]}:${lineNumber + 1}`
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + time)
    }
  }
  const pct = (t) => `${((t / busy) * 100).toFixed(1).padStart(5)}%`
  const sorted = (map) => [...map.entries()].sort((a, b) => b[1] - a[1])
  const lines = [`busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled`, 'self time by area:']
  for (const [a, t] of sorted(areas).slice(0, 12)) lines.push(`  ${pct(t)}  ${a}`)
  lines.push('heaviest functions (self):')
  for (const [f, t] of sorted(functions).slice(0, top)) lines.push(`  ${pct(t)}  ${f}`)
  lines.push('our functions (inclusive):')
  for (const [f, t] of sorted(inclusive).slice(0, 15)) lines.push(`  ${pct(t)}  ${f}`)
  return lines.join('\n')
}

async function profileOne(workload) {
  const admin = await openAdmin(AMQP_URL)
  const queue = await admin.queue(`profile-${workload}`)
  try {
    if (workload === 'consume') await admin.fill(queue, n)
    const name = `${workload}-${contender}-${Date.now()}.cpuprofile`
    const target = new URL('./profile-target.js', import.meta.url).pathname
    const out = new URL(name, dir).pathname
    const child = spawn(process.execPath, [target, workload, queue, String(n), '100', contender, out], {
      stdio: 'inherit',
    })
    const [code] = await once(child, 'exit')
    if (code !== 0) throw new Error(`profile-target ${workload} exited with ${code}`)
    const profile = JSON.parse(readFileSync(new URL(name, dir), 'utf8'))
    console.log(
      `\n== ${workload} ${contender} (${n} messages) — bench/results/profiles/${name}\n${summarizeProfile(profile)}`
    )
  } finally {
    await admin.deleteQueue(queue)
    await admin.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const workload of workloads) await profileOne(workload)
}
