// The HTTP server of http-server.js in a child process, for the length of one run: the load generator and
// the server must not share an event loop.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { log, within } from './rounds.js'

/** Starts the server in `mode`, runs fn(port), closes it (killed if it does not exit), then purges the queue. */
export async function withHttpServer(mode, { url, admin, queue }, fn) {
  const server = fork(new URL('../http-server.js', import.meta.url), [mode, url, queue], { stdio: 'inherit' })
  try {
    const [{ port }] = await within(once(server, 'message'), 30_000, `http server ${mode}`)
    return await fn(port)
  } finally {
    server.send('close')
    await within(once(server, 'exit'), 30_000, `http server ${mode} exit`).catch((err) => {
      log(err.message)
      server.kill('SIGKILL')
    })
    await admin.purge(queue)
  }
}
