import type { ChannelRefusal } from './channel-refusal.js'
import type { Entry } from './entry.js'
import { PublishRefusedError } from './errors.js'

/** What becomes of the entries a lost channel had not confirmed. */
export interface LossOutcome {
  /** Refused by the broker, with the error each fails with: not sent again (they would close the next channel). */
  refused: [Entry, Error][]
  /** Sent again, first and in order, with the same messageId. */
  resend: Entry[]
  /** How many of `resend` go out one at a time, each after the last one's confirm (0: pipelined). */
  probe: number
}

/**
 * Sorts a lost channel's unconfirmed entries and counts the copy each leaves behind (see arrival.ts).
 * No refusal: all go again. A refusal that names an exchange or a size: those it names fail, the rest
 * go again. One that names nothing: the only entry the channel held is the culprit; among several the
 * suspects go out one at a time, until one closes a channel alone.
 * `alone` says the window held nothing else, not even a publish settled before its confirm.
 */
export function sortLoss(unconfirmed: Entry[], refusal: ChannelRefusal | null, alone: boolean): LossOutcome {
  if (refusal === null) {
    for (const entry of unconfirmed) entry.lostCopies += 1
    return { refused: [], resend: unconfirmed, probe: 0 }
  }
  if (refusal.kind === 'named') {
    const outcome: LossOutcome = { refused: [], resend: [], probe: 0 }
    for (const entry of unconfirmed) {
      const error = refusal.errorFor(entry)
      if (error !== null) {
        outcome.refused.push([entry, error])
      } else {
        entry.refusedCopies += 1
        outcome.resend.push(entry)
      }
    }
    return outcome
  }
  const only = unconfirmed[0]
  if (alone && only !== undefined && unconfirmed.length === 1) {
    return { refused: [[only, new PublishRefusedError(refusal.reply.code, refusal.reply.text)]], resend: [], probe: 0 }
  }
  for (const entry of unconfirmed) entry.refusedCopies += 1
  return { refused: [], resend: unconfirmed, probe: unconfirmed.length }
}
