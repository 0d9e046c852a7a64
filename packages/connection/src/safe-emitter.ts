import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger } from 'fastify'
import { describeError } from './redact.js'

/** Where a listener's failure is reported. */
export interface SafeEmitterContext {
  log: FastifyBaseLogger
  secrets: readonly string[]
  /** Added to the log line: which connection or channel emitted. */
  bindings?: Record<string, unknown>
}

/**
 * An EventEmitter whose listeners cannot hurt the emitter. Events are emitted
 * from amqplib's socket handlers and from our own un-awaited reconnect code: a
 * throw there would skip the healing that follows, or crash the process. Each
 * listener runs on its own; a throw or a rejected promise is logged and the
 * other listeners still run.
 */
class SafeEventEmitter extends EventEmitter {
  readonly #context: SafeEmitterContext

  constructor(context: SafeEmitterContext) {
    super()
    this.#context = context
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    // rawListeners keeps once() wrappers, so a once listener is still removed when called.
    const listeners = this.rawListeners(event) as ((...args: unknown[]) => unknown)[]
    for (const listener of listeners) {
      try {
        const result = listener.apply(this, args)
        if (isThenable(result)) result.then(undefined, (err: unknown) => this.#report(event, err))
      } catch (err) {
        this.#report(event, err)
      }
    }
    return listeners.length > 0
  }

  #report(event: string | symbol, err: unknown): void {
    const { log, secrets, bindings } = this.#context
    const name = String(event)
    log.error({ ...bindings, event: name, err: describeError(err, secrets) }, `amqp '${name}' listener failed`)
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

/** Typed as EventEmitter<T>, so on/off/once and our own emit calls keep the event map's payload types. */
export const SafeEmitter = SafeEventEmitter as unknown as new <T extends Record<keyof T, unknown[]>>(
  context: SafeEmitterContext
) => EventEmitter<T>
