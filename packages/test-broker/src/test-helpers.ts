import { randomUUID } from 'node:crypto'
import type { EventEmitter } from 'node:events'

// Helpers every package's tests share. They wait on states and events, never on time alone.

/** A name of its own for a test's queues, exchanges and connections: `<prefix>-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

/** Polls until check() is true (every 20 ms); rejects after `ms`, naming what it waited for. */
export async function until(check: () => boolean | Promise<boolean>, ms = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Resolves with the first argument of the next `event` that passes `predicate`; rejects after `ms`. */
export function once<T = unknown>(
  emitter: EventEmitter,
  event: string,
  ms = 15_000,
  predicate: (value: T) => boolean = () => true
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`timed out after ${ms} ms waiting for '${event}'`))
    }, ms)
    const listener = (value: T) => {
      if (!predicate(value)) return
      clearTimeout(timer)
      emitter.off(event, listener)
      resolve(value)
    }
    emitter.on(event, listener)
  })
}

/** A promise with its resolve exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((res) => {
    resolve = res
  })
  return { promise, resolve }
}
