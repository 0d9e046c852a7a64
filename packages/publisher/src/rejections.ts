import { BufferFullError, PublishAbortedError } from './errors.js'

/**
 * Says on a rejection whether the message may still arrive (set per rejection: the same code can
 * mean either, e.g. a confirm timeout of a message that was or was not written).
 */
export function withArrival<E extends Error>(error: E, mayHaveArrived: boolean): E & { mayHaveArrived: boolean } {
  Object.defineProperty(error, 'mayHaveArrived', { value: mayHaveArrived, enumerable: true, configurable: true })
  return error as E & { mayHaveArrived: boolean }
}

// Stack frames kept on a buffer-full error: enough to find the caller.
const SHED_STACK_FRAMES = 4

/** FST_AMQP_PUBLISHER_BUFFER_FULL, cheap: refusals come by the thousand while the broker is away. */
export function shedError(bound: string): Error {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = SHED_STACK_FRAMES
  const error = new BufferFullError(bound)
  Error.stackTraceLimit = limit
  return error
}

/** An aborted publish: coded, with the signal's reason as its cause (one signal may abort many publishes). */
export function abortedError(signal: AbortSignal): Error {
  return new PublishAbortedError({ cause: signal.reason })
}
