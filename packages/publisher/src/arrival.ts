import type { Entry } from './entry.js'

/** What a rejection proves about the copy it is about; the copies written before it are counted on the entry. */
export const UNKNOWN = 0 // timed out, aborted, closed: a copy on the wire may still be stored
export const REJECTED = 1 // this copy was nacked or returned: not stored
export const REFUSED = 2 // refused for its own exchange, size or properties: so was every copy on a channel the broker closed
export type Verdict = typeof UNKNOWN | typeof REJECTED | typeof REFUSED

/**
 * Whether a rejected message may still arrive. A copy lost with its channel (a cut, a recycle) may
 * be stored; so may one on a channel the broker closed over another publish (it was stored if
 * written before that one), unless the rejection is the broker refusing this message itself.
 */
export function mayHaveArrived(entry: Entry, verdict: Verdict, onTheWire: boolean): boolean {
  if (entry.lostCopies > 0) return true
  if (verdict === REFUSED) return false
  if (entry.refusedCopies > 0) return true
  return verdict === UNKNOWN && onTheWire
}
