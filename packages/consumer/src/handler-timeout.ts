/**
 * Runs a handler; when it still runs after `ms` (0: no limit), rejects with timedOut()'s error instead and
 * leaves the handler to its aborted signal: whatever it does later is ignored, and its slot is free.
 * The limit's timer is in `timers` while it runs, so a consumer that closes can let go of those of handlers
 * that never end (see Consumer.close).
 */
export function withHandlerTimeout(
  run: () => unknown,
  ms: number,
  timedOut: () => Error,
  timers?: Set<NodeJS.Timeout>
): Promise<unknown> {
  const running = new Promise<unknown>((resolve) => resolve(run()))
  if (ms === 0) return running
  // A failure after the limit is nobody's to handle: not an unhandled rejection.
  running.catch(() => {})
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms)
  })
  timers?.add(timer as NodeJS.Timeout)
  return Promise.race([running, limit]).finally(() => {
    clearTimeout(timer)
    timers?.delete(timer as NodeJS.Timeout)
  })
}
