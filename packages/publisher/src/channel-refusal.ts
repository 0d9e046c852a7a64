import type { Entry } from './entry.js'
import { AccessRefusedError, ExchangeNotFoundError, MessageTooLargeError } from './errors.js'

/** What a refusal is matched against: a publish's exchange, routing key and body size. */
export type RefusedPublish = Pick<Entry, 'exchange' | 'routingKey' | 'size'>

/** The broker's Channel.Close, as the managed channel reports it on 'lost'. */
export interface CloseReply {
  code: number
  classId: number
  methodId: number
  text: string
}

/**
 * Why the broker closed the publisher's channel, when a publish on it was the cause: sending the
 * culprit again would close the next channel too, so it is failed, not re-sent.
 */
export type ChannelRefusal =
  | {
      /** The close names what is refused (an exchange, a size): every entry it fits is failed. */
      kind: 'named'
      /** The error for an entry the broker refused, or null for one that goes out again. */
      errorFor(entry: RefusedPublish): Error | null
      /** The broker's max_message_size, when the close stated it. */
      maxMessageBytes?: number
    }
  | {
      /** A publish was refused, but the close does not say which: the suspects go out one at a time. */
      kind: 'unnamed'
      reply: CloseReply
    }

const NOT_FOUND = 404
const ACCESS_REFUSED = 403
const PRECONDITION_FAILED = 406
// basic.publish: the method the broker names when a publish made it close the channel.
const BASIC = 60
const PUBLISH = 40

// The one part of a close the codes cannot give: which exchange, what limit. Texts as RabbitMQ words them:
// NOT_FOUND - no exchange 'orders' in vhost '/'
// ACCESS_REFUSED - write access to exchange 'orders' in vhost '/' refused for user 'app'
// ACCESS_REFUSED - cannot publish to internal exchange 'orders' in vhost '/'
const EXCHANGE = /exchange '(.*)' in vhost '/
// PRECONDITION_FAILED - message size 20971520 is larger than configured max size 16777216
// (the broker's body size and its limit; older brokers word it without "is" or "configured").
const TOO_LARGE = /message size \d+ (?:is )?larger than (?:configured )?max size (\d+)/

/**
 * Reads a channel close: null when no publish caused it (a connection loss, a close of our own), so
 * what it left unconfirmed simply goes out again. Classified by reply code and method; the text only
 * supplies the name or number the codes cannot.
 */
export function channelRefusal(reply: CloseReply | null | undefined, error: string | null): ChannelRefusal | null {
  const code = reply?.code
  const text = reply?.text ?? error
  if (text === null || text === undefined) return null
  const byPublish = reply === null || reply === undefined || (reply.classId === BASIC && reply.methodId === PUBLISH)
  if (!byPublish) return null
  const exchange = EXCHANGE.exec(text)?.[1]
  if (exchange !== undefined && (code === NOT_FOUND || (code === undefined && /NOT_FOUND/.test(text)))) {
    return {
      kind: 'named',
      errorFor: (entry) => (entry.exchange === exchange ? new ExchangeNotFoundError(exchange, entry.routingKey) : null),
    }
  }
  if (exchange !== undefined && code === ACCESS_REFUSED) {
    const reason = text.slice(Math.max(0, text.indexOf('ACCESS_REFUSED'))).replace(/"$/, '')
    return {
      kind: 'named',
      errorFor: (entry) => (entry.exchange === exchange ? new AccessRefusedError(exchange, reason) : null),
    }
  }
  const max = code === PRECONDITION_FAILED || code === undefined ? TOO_LARGE.exec(text)?.[1] : undefined
  if (max !== undefined) {
    const limit = Number(max)
    return {
      kind: 'named',
      maxMessageBytes: limit,
      errorFor: (entry) =>
        entry.size > limit ? new MessageTooLargeError(entry.size, limit, "the broker's max_message_size") : null,
    }
  }
  // Without the broker's reply only the texts above are known to be about a publish.
  if (reply === null || reply === undefined) return null
  return { kind: 'unnamed', reply }
}
