// Headers hold at most 64 KiB (amqplib throws beyond) and a log line should stay readable: keep it short.
const MAX_TEXT = 1_000

/** What readSafely returns when the read threw. */
export const UNREADABLE: unique symbol = Symbol('unreadable')

/**
 * A short text for anything a handler may throw, and it never throws itself: an Error's message (its
 * name when the message is empty), the message of an error-like object, a string as it is, a
 * primitive as String() gives it, else a tag such as `[object Object]` or `thrown value of type object`.
 * Nothing is serialised (circular values are fine) and getters or Proxy traps that throw are caught.
 */
export function describeError(err: unknown): string {
  const text = describe(err)
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text
}

function describe(err: unknown): string {
  if (typeof err === 'string') return err
  if (typeof err === 'function') return 'thrown value of type function'
  // Other primitives (symbols too) convert without running user code.
  if (typeof err !== 'object') return String(err)
  if (err === null) return 'null'
  const message = readSafely(() => (err as { message?: unknown }).message)
  if (typeof message === 'string' && message !== '') return message
  const name = readSafely(() => (err instanceof Error ? err.name : undefined))
  if (typeof name === 'string' && name !== '')
    return message === UNREADABLE ? `${name} (its message could not be read)` : name
  // A custom toString is the thrower's own description; anything odd falls back to the object's tag.
  const own = readSafely(() => String(err))
  if (typeof own === 'string' && own !== '') return own
  const tag = readSafely(() => Object.prototype.toString.call(err))
  return typeof tag === 'string' ? tag : 'thrown value of type object'
}

/** A property of a thrown value, or UNREADABLE when reading it throws (a getter, a Proxy trap). */
export function readSafely<T>(get: () => T): T | typeof UNREADABLE {
  try {
    return get()
  } catch {
    return UNREADABLE
  }
}
