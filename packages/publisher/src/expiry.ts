import { REJECTED, UNKNOWN, type Verdict } from './arrival.js'
import { DONE, type Entry, SENT } from './entry.js'
import { ConfirmTimeoutError, PublishNackError } from './errors.js'

/** What holds pending entries: the confirm window, the send queue. */
interface Entries {
  forEach(fn: (entry: Entry) => void): void
}

/**
 * One pass over what is pending: each entry past its deadline is failed (its nack when it was nacked each time it
 * went out, rather than "no confirm came"). Returns the earliest deadline still ahead, Infinity when none is.
 */
export function expireDue(
  now: number,
  lists: readonly Entries[],
  fail: (entry: Entry, error: Error, verdict: Verdict) => void
): number {
  let next = Number.POSITIVE_INFINITY
  const expire = (entry: Entry) => {
    if (entry.state === DONE) return
    if (entry.deadline > now) {
      if (entry.deadline < next) next = entry.deadline
      return
    }
    if (entry.nacks > 0)
      fail(entry, new PublishNackError(entry.exchange, entry.routingKey), entry.state === SENT ? UNKNOWN : REJECTED)
    else fail(entry, new ConfirmTimeoutError(entry.timeout), UNKNOWN)
  }
  for (const list of lists) list.forEach(expire)
  return next
}
