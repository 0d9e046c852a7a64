import type { Entry } from './entry.js'
import { ExchangeNotFoundError, MessageTooLargeError } from './errors.js'

/**
 * Why the broker closed the publisher's channel, when the close is about some of the messages on
 * it: sending those again would close the next channel too, so they are failed, not re-sent.
 */
export interface ChannelRefusal {
  /** The error for an entry the broker refused, or null for one that goes out again. */
  errorFor(entry: Entry): Error | null
  /** The broker's max_message_size, when the close stated it. */
  maxMessageBytes?: number
}

// NOT_FOUND - no exchange 'orders' in vhost '/'
const NO_EXCHANGE = /NOT_FOUND - no exchange '(.*)' in vhost '/
// PRECONDITION_FAILED - message size 20971520 is larger than configured max size 16777216
// (the broker's body size and its limit; older brokers word it without "is" or "configured").
const TOO_LARGE = /message size \d+ (?:is )?larger than (?:configured )?max size (\d+)/

/** Reads a channel's close text (null: closed without an error); null when it refuses no message. */
export function channelRefusal(error: string | null): ChannelRefusal | null {
  if (error === null) return null
  const exchange = NO_EXCHANGE.exec(error)?.[1]
  if (exchange !== undefined) {
    return {
      errorFor: (entry) => (entry.exchange === exchange ? new ExchangeNotFoundError(exchange, entry.routingKey) : null),
    }
  }
  const max = TOO_LARGE.exec(error)?.[1]
  if (max !== undefined) {
    const limit = Number(max)
    return {
      maxMessageBytes: limit,
      errorFor: (entry) =>
        entry.content.length > limit
          ? new MessageTooLargeError(entry.content.length, limit, "the broker's max_message_size")
          : null,
    }
  }
  return null
}
