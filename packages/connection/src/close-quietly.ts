import type { EventEmitter } from 'node:events'

/**
 * Closes an amqplib connection or channel without ever hanging: amqplib's close()
 * waits for the broker's close-ok, which never comes when the socket died
 * underneath it. Settles on close-ok, on the 'close' event, or after `ms`.
 */
export function closeQuietly(target: EventEmitter & { close(): Promise<void> }, ms = 2_000): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      target.off('close', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    target.once('close', done)
    target.close().then(done, done)
  })
}
