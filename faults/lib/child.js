import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('./consumer-child.js', import.meta.url))

/**
 * Starts lib/consumer-child.js (the stage-1 consumer in its own process). Its IPC reports feed
 * `onStats`; its output goes to `log` (a memoryLogger's lines) for failure reports.
 */
export function spawnConsumer(config, { onStats, log }) {
  const child = fork(SCRIPT, [JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // A plain Node process, not one carrying the parent's loaders (tap's): its memory is the consumer's own.
    execArgv: [],
  })
  const handle = { child, pid: child.pid, stats: null, exitCode: undefined }
  const keep = (chunk) => log?.push(`[consumer ${child.pid}] ${chunk}`)
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  handle.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      handle.exitCode = code ?? signal
      resolve(code ?? signal)
    })
  })
  handle.ready = new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.type === 'ready') resolve()
      if (message.type === 'stats') {
        handle.stats = message
        onStats?.(message)
      }
    })
    handle.exited.then((code) => reject(new Error(`consumer process exited before ready (${code})`)))
  })
  handle.ready.catch(() => {})
  handle.send = (message) => {
    if (child.connected) child.send(message)
  }
  handle.kill = async () => {
    if (handle.exitCode === undefined) child.kill('SIGKILL')
    await handle.exited
  }
  /** Graceful close (drain, close connection); SIGKILL if it takes longer than `timeout`. */
  handle.close = async (timeout = 15_000) => {
    if (handle.exitCode !== undefined) return
    handle.send({ type: 'close' })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    await handle.exited
    clearTimeout(timer)
  }
  return handle
}
