import { spawn } from 'node:child_process'
import { freePort } from '@fastify-amqp/test-broker'
import t from 'tap'
import { SHARED_URL } from './fixtures/helpers.js'

const fixture = new URL('./fixtures/close-and-exit.mjs', import.meta.url)

function run(url: string, mode: string): Promise<{ code: number | null; stdout: string; exitedAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture.pathname, url, mode], { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    const killer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the process did not exit by itself; it printed: ${stdout}`))
    }, 20_000)
    child.on('exit', (code) => {
      clearTimeout(killer)
      resolve({ code, stdout, exitedAt: Date.now() })
    })
  })
}

t.test('closing during a reconnect loop leaves nothing that keeps the process alive', async (t) => {
  const port = await freePort() // nothing listens there: every attempt is refused
  const { code, stdout, exitedAt } = await run(`amqp://guest:guest@127.0.0.1:${port}`, 'degraded')
  t.equal(code, 0)
  t.match(stdout, /status before close: reconnecting/)
  const closedAt = Number(/closed at (\d+)/.exec(stdout)?.[1])
  t.ok(exitedAt - closedAt < 2_000, `exited ${exitedAt - closedAt} ms after close`)
})

t.test('closing a connected app lets the process exit by itself', async (t) => {
  const { code, stdout } = await run(SHARED_URL, 'connected')
  t.equal(code, 0)
  t.match(stdout, /status before close: connected/)
  t.match(stdout, /closed at \d+/)
})
